package transforms

import (
	"fmt"
	"strings"
	"time"
)

// dateFields collects what parsing a date found; fields not found keep
// Java's defaults, 1970-01-01T00:00:00.000 UTC.
type dateFields struct {
	year, month, day, yearDay    int
	hour, minute, second, millis int
	offset                       time.Duration
	bc, pm, twelveHour, hasDay   bool
}

// maxNumberDigits bounds the digits of a number field, so that every value
// fits an int and time.Date's arithmetic (Java's Calendar fields are ints).
const maxNumberDigits = 9

// parse reads a date as Java's SimpleDateFormat.parse does, leniently:
// spaces and tabs before a field are skipped, numbers out of range roll
// over (month 13 is January of the next year), a number field directly
// followed by another reads exactly its count of digits, and text after
// the pattern is ignored.
func (f *javaDateFormat) parse(s string) (time.Time, error) {
	d := dateFields{year: 1970, month: 1, day: 1}
	pos := 0
	for i, it := range f.items {
		if it.letter == 0 {
			if !strings.HasPrefix(s[pos:], it.text) {
				return time.Time{}, unparseable(s)
			}
			pos += len(it.text)
			continue
		}
		for pos < len(s) && (s[pos] == ' ' || s[pos] == '\t') {
			pos++
		}
		width := 0
		if it.numeric() && i+1 < len(f.items) && f.items[i+1].numeric() {
			width = it.count
		}
		next, ok := d.parseItem(s, pos, it, width)
		if !ok {
			return time.Time{}, unparseable(s)
		}
		pos = next
	}
	return d.time(), nil
}

func unparseable(s string) error { return fmt.Errorf("Unparseable date: %q", s) }

// time resolves the fields, as a lenient Calendar does.
func (d *dateFields) time() time.Time {
	year, hour := d.year, d.hour
	if d.bc {
		year = 1 - year
	}
	if d.pm && d.twelveHour {
		hour += 12
	}
	month, day := d.month, d.day
	if d.yearDay != 0 && !d.hasDay {
		month, day = 1, d.yearDay
	}
	t := time.Date(year, time.Month(month), day, hour, d.minute, d.second, d.millis*int(time.Millisecond), time.UTC)
	return t.Add(-d.offset)
}

// parseItem reads one field at pos and returns the position after it.
func (d *dateFields) parseItem(s string, pos int, it dateItem, width int) (int, bool) {
	if it.numeric() {
		n, digits, next, ok := readNumber(s, pos, width)
		if ok {
			d.setNumber(it, n, digits)
		}
		return next, ok
	}
	switch it.letter {
	case 'M', 'L':
		months := make([]string, 12)
		for m := range months {
			months[m] = time.Month(m + 1).String()
		}
		i, next, ok := matchName(s, pos, months)
		d.month = i + 1
		return next, ok
	case 'E':
		days := make([]string, 7)
		for wd := range days {
			days[wd] = time.Weekday(wd).String()
		}
		_, next, ok := matchName(s, pos, days)
		return next, ok
	case 'a':
		i, next, ok := matchName(s, pos, []string{"AM", "PM"})
		d.pm = i == 1
		return next, ok
	case 'G':
		i, next, ok := matchName(s, pos, []string{"AD", "BC"})
		d.bc = i == 1
		return next, ok
	}
	offset, next, ok := parseZone(s, pos)
	d.offset = offset
	return next, ok
}

// setNumber stores a number field. A "y" or "yy" year of exactly two digits
// is in 1969 to 2068 (Java takes the 100 years around the present).
func (d *dateFields) setNumber(it dateItem, n, digits int) {
	switch it.letter {
	case 'y':
		if it.count <= 2 && digits == 2 && n >= 0 {
			n += 1900
			if n < 1969 {
				n += 100
			}
		}
		d.year = n
	case 'M', 'L':
		d.month = n
	case 'd':
		d.day, d.hasDay = n, true
	case 'D':
		d.yearDay = n
	case 'H':
		d.hour, d.twelveHour = n, false
	case 'k':
		d.hour, d.twelveHour = n%24, false
	case 'K':
		d.hour, d.twelveHour = n, true
	case 'h':
		d.hour, d.twelveHour = n%12, true
	case 'm':
		d.minute = n
	case 's':
		d.second = n
	case 'S':
		d.millis = n
	}
}

// readNumber reads exactly width digits, or with width 0 an optional minus
// sign and up to maxNumberDigits digits. It returns the value, the number
// of digits and the position after them.
func readNumber(s string, pos, width int) (n, digits, next int, ok bool) {
	negative := false
	if width == 0 && pos < len(s) && s[pos] == '-' {
		negative = true
		pos++
	}
	limit := width
	if limit == 0 {
		limit = maxNumberDigits
	}
	for digits < limit && pos+digits < len(s) && s[pos+digits] >= '0' && s[pos+digits] <= '9' {
		n = n*10 + int(s[pos+digits]-'0')
		digits++
	}
	if digits == 0 || width > 0 && digits < width {
		return 0, 0, pos, false
	}
	if negative {
		n = -n
	}
	return n, digits, pos + digits, true
}

// matchName matches the longest of names, in full or their first three
// letters, in any case, at pos, and returns its index.
func matchName(s string, pos int, names []string) (int, int, bool) {
	best, bestLen := -1, 0
	for i, name := range names {
		for _, candidate := range []string{name, name[:min(3, len(name))]} {
			n := len(candidate)
			if n > bestLen && len(s)-pos >= n && strings.EqualFold(s[pos:pos+n], candidate) {
				best, bestLen = i, n
			}
		}
	}
	return best, pos + bestLen, best >= 0
}

// parseZone reads a time zone: Z, UTC, GMT or UT with an optional offset,
// or an offset alone: +hh, +hhmm or +hh:mm (hours below 24, minutes below
// 60), or -.
func parseZone(s string, pos int) (time.Duration, int, bool) {
	rest := s[pos:]
	if strings.HasPrefix(rest, "Z") {
		return 0, pos + 1, true
	}
	for _, name := range []string{"UTC", "GMT", "UT"} {
		if strings.HasPrefix(rest, name) {
			pos += len(name)
			if offset, next, ok := parseOffset(s, pos); ok {
				return offset, next, true
			}
			return 0, pos, true
		}
	}
	return parseOffset(s, pos)
}

func parseOffset(s string, pos int) (time.Duration, int, bool) {
	if pos >= len(s) || s[pos] != '+' && s[pos] != '-' {
		return 0, pos, false
	}
	sign := time.Duration(1)
	if s[pos] == '-' {
		sign = -1
	}
	hours, digits, next, ok := readNumber(s, pos+1, 0)
	minutes := 0
	switch {
	case !ok || digits > 4:
		return 0, pos, false
	case digits > 2: // hhmm or hmm
		hours, minutes = hours/100, hours%100
	case next < len(s) && s[next] == ':':
		var m, mDigits int
		if m, mDigits, next, ok = readNumber(s, next+1, 2); !ok || mDigits != 2 {
			return 0, pos, false
		}
		minutes = m
	}
	if hours >= 24 || minutes >= 60 || hours < 0 {
		return 0, pos, false
	}
	return sign * (time.Duration(hours)*time.Hour + time.Duration(minutes)*time.Minute), next, true
}
