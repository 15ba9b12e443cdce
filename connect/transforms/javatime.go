package transforms

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// javaDateFormat is a java.text.SimpleDateFormat pattern compiled for the
// UTC time zone, as TimestampConverter and TimestampRouter set theirs.
type javaDateFormat struct {
	pattern string
	items   []dateItem
}

// dateItem is a pattern letter repeated count times, or literal text.
type dateItem struct {
	letter byte // 0 for literal text
	count  int
	text   string
}

// The pattern letters of SimpleDateFormat: those fjord formats and parses,
// and those it refuses (week-based fields, which depend on a locale).
const (
	supportedDateLetters   = "GyMLdDEuaHkKhmsSzZX"
	unsupportedDateLetters = "YwWF"
)

// compileJavaDateFormat reads a SimpleDateFormat pattern: letters a-z and
// A-Z are fields, text in single quotes is literal, two single quotes are
// one, and every other character is literal.
func compileJavaDateFormat(pattern string) (*javaDateFormat, error) {
	f := &javaDateFormat{pattern: pattern}
	for i := 0; i < len(pattern); {
		c := pattern[i]
		switch {
		case c == '\'':
			text, next, err := quotedText(pattern, i)
			if err != nil {
				return nil, err
			}
			f.literal(text)
			i = next
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i
			for j < len(pattern) && pattern[j] == c {
				j++
			}
			switch {
			case strings.IndexByte(unsupportedDateLetters, c) >= 0:
				return nil, fmt.Errorf("pattern letter '%c' (a week-based field) is not supported", c)
			case strings.IndexByte(supportedDateLetters, c) < 0:
				return nil, fmt.Errorf("Illegal pattern character '%c'", c)
			case c == 'X' && j-i > 3:
				return nil, fmt.Errorf("invalid ISO 8601 format: length=%d", j-i)
			}
			f.items = append(f.items, dateItem{letter: c, count: j - i})
			i = j
		default:
			_, size := utf8.DecodeRuneInString(pattern[i:])
			f.literal(pattern[i : i+size])
			i += size
		}
	}
	return f, nil
}

// quotedText reads the quoted text starting at the quote at i.
func quotedText(pattern string, i int) (string, int, error) {
	if i+1 < len(pattern) && pattern[i+1] == '\'' {
		return "'", i + 2, nil
	}
	var b strings.Builder
	for j := i + 1; j < len(pattern); j++ {
		if pattern[j] != '\'' {
			b.WriteByte(pattern[j])
			continue
		}
		if j+1 < len(pattern) && pattern[j+1] == '\'' {
			b.WriteByte('\'')
			j++
			continue
		}
		return b.String(), j + 1, nil
	}
	return "", 0, errors.New("Unterminated quote")
}

// literal appends text, joining it to literal text before it.
func (f *javaDateFormat) literal(text string) {
	if n := len(f.items); n > 0 && f.items[n-1].letter == 0 {
		f.items[n-1].text += text
		return
	}
	f.items = append(f.items, dateItem{text: text})
}

// format writes t, in UTC, as Java's SimpleDateFormat.format.
func (f *javaDateFormat) format(t time.Time) string {
	t = t.UTC()
	var b strings.Builder
	for _, it := range f.items {
		if it.letter == 0 {
			b.WriteString(it.text)
			continue
		}
		b.WriteString(formatDateItem(t, it))
	}
	return b.String()
}

func formatDateItem(t time.Time, it dateItem) string {
	hour := t.Hour()
	switch it.letter {
	case 'G':
		if t.Year() <= 0 {
			return "BC"
		}
		return "AD"
	case 'y':
		year := t.Year()
		if year <= 0 {
			year = 1 - year // the year of the era, as Java counts it
		}
		if it.count == 2 {
			return zeroPad(year%100, 2)
		}
		return zeroPad(year, it.count)
	case 'M', 'L':
		return formatText(t.Month().String(), int(t.Month()), it.count)
	case 'd':
		return zeroPad(t.Day(), it.count)
	case 'D':
		return zeroPad(t.YearDay(), it.count)
	case 'E':
		return formatText(t.Weekday().String(), 0, max(it.count, 3))
	case 'u':
		return zeroPad((int(t.Weekday())+6)%7+1, it.count)
	case 'a':
		if hour < 12 {
			return "AM"
		}
		return "PM"
	case 'H':
		return zeroPad(hour, it.count)
	case 'k':
		return zeroPad((hour+23)%24+1, it.count)
	case 'K':
		return zeroPad(hour%12, it.count)
	case 'h':
		return zeroPad((hour+11)%12+1, it.count)
	case 'm':
		return zeroPad(t.Minute(), it.count)
	case 's':
		return zeroPad(t.Second(), it.count)
	case 'S':
		return zeroPad(t.Nanosecond()/int(time.Millisecond), it.count)
	case 'z':
		if it.count >= 4 {
			return "Coordinated Universal Time"
		}
		return "UTC"
	case 'Z':
		return "+0000"
	}
	return "Z" // 'X'
}

// formatText writes a month or day name in full (count 4 or more), short
// (count 3), or else the number.
func formatText(name string, number, count int) string {
	switch {
	case count >= 4:
		return name
	case count == 3:
		return name[:3]
	}
	return zeroPad(number, count)
}

func zeroPad(n, digits int) string {
	s := strconv.Itoa(n)
	if len(s) < digits {
		s = strings.Repeat("0", digits-len(s)) + s
	}
	return s
}

// numeric reports whether the item is a number when parsed.
func (it dateItem) numeric() bool {
	switch it.letter {
	case 'y', 'd', 'D', 'H', 'k', 'K', 'h', 'm', 's', 'S', 'u':
		return true
	case 'M', 'L':
		return it.count <= 2
	}
	return false
}
