package transforms

import (
	"strings"
	"testing"
	"time"
)

func TestJavaDateFormat(t *testing.T) {
	at := time.Date(2017, 1, 3, 6, 5, 4, 7_000_000, time.UTC) // a Tuesday
	for pattern, want := range map[string]string{
		"yyyyMMdd":                     "20170103",
		"yyyy-MM-dd'T'HH:mm:ss.SSS'Z'": "2017-01-03T06:05:04.007Z",
		"yy/M/d H:m:s.S":               "17/1/3 6:5:4.7",
		"EEE, d MMM yyyy HH:mm:ss Z":   "Tue, 3 Jan 2017 06:05:04 +0000",
		"EEEE MMMM dd G":               "Tuesday January 03 AD",
		"hh:mm a, k K, DDD u":          "06:05 AM, 6 6, 003 2",
		"yyyy-MM-dd HH:mm:ss z zzzz X": "2017-01-03 06:05:04 UTC Coordinated Universal Time Z",
		"'o''clock' ''h'' SSSSSS":      "o'clock '6' 000007",
		"yyyy年MM月dd日":                  "2017年01月03日",
		"XXX":                          "Z",
		"":                             "",
	} {
		f, err := compileJavaDateFormat(pattern)
		if err != nil {
			t.Errorf("%q: %v", pattern, err)
			continue
		}
		if got := f.format(at); got != want {
			t.Errorf("format %q = %q, want %q", pattern, got, want)
		}
	}
	noon := time.Date(2017, 1, 3, 12, 0, 0, 0, time.UTC)
	if got := mustFormat(t, "h a k K", noon); got != "12 PM 12 0" {
		t.Errorf("noon: %q", got)
	}
	if got := mustFormat(t, "k h a", time.Date(2017, 1, 3, 0, 30, 0, 0, time.UTC)); got != "24 12 AM" {
		t.Errorf("midnight: %q", got)
	}
	for _, pattern := range []string{"bad-format", "'open", "YYYY", "ww", "XXXX", "yyyy-MM-dd q"} {
		if _, err := compileJavaDateFormat(pattern); err == nil {
			t.Errorf("%q compiled", pattern)
		}
	}
}

func mustFormat(t *testing.T, pattern string, at time.Time) string {
	t.Helper()
	f, err := compileJavaDateFormat(pattern)
	if err != nil {
		t.Fatal(err)
	}
	return f.format(at)
}

func TestJavaDateParse(t *testing.T) {
	for _, tc := range []struct {
		pattern, text string
		want          time.Time
	}{
		{"yyyyMMdd", "20170103", time.Date(2017, 1, 3, 0, 0, 0, 0, time.UTC)},
		{"yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "2017-01-03T06:05:04.007+02:00", time.Date(2017, 1, 3, 4, 5, 4, 7e6, time.UTC)},
		{"yyyy-MM-dd HH:mm:ss Z", "2017-01-03 06:05:04 -0130", time.Date(2017, 1, 3, 7, 35, 4, 0, time.UTC)},
		{"yyyy-MM-dd HH:mm z", "2017-01-03 06:05 GMT+01:00", time.Date(2017, 1, 3, 5, 5, 0, 0, time.UTC)},
		{"yyyy MM dd HH mm ss SSS z", "1970 01 02 00 00 01 234 UTC", time.UnixMilli(86401234).UTC()},
		{"dd MMM yyyy", "3 jan 2017", time.Date(2017, 1, 3, 0, 0, 0, 0, time.UTC)},
		{"EEEE, d MMMM yy", "Tuesday, 3 January 17", time.Date(2017, 1, 3, 0, 0, 0, 0, time.UTC)},
		{"yy", "69", time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"yy", "68", time.Date(2068, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"yy", "2017", time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"h:mm a", "12:30 AM", time.Date(1970, 1, 1, 0, 30, 0, 0, time.UTC)},
		{"h:mm a", "1:30 pm", time.Date(1970, 1, 1, 13, 30, 0, 0, time.UTC)},
		{"kk", "24", time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"yyyy-MM-dd", "2017-13-01", time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)},          // lenient
		{"yyyy-MM-dd", "2017-01-03T10:00:00", time.Date(2017, 1, 3, 0, 0, 0, 0, time.UTC)}, // trailing text
		{"yyyy DDD", "2017 032", time.Date(2017, 2, 1, 0, 0, 0, 0, time.UTC)},
		{"yyyy G", "44 BC", time.Date(-43, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"HH:mm", " 7:05", time.Date(1970, 1, 1, 7, 5, 0, 0, time.UTC)},
	} {
		f, err := compileJavaDateFormat(tc.pattern)
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.parse(tc.text)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("parse %q with %q = %v, %v; want %v", tc.text, tc.pattern, got, err, tc.want)
		}
	}
	for _, tc := range [][2]string{{"yyyyMMdd", "201701"}, {"yyyy-MM-dd", "2017/01/03"}, {"HH:mm Z", "10:00 PST"},
		{"MMM", "Foo"}, {"yyyy", ""}, {"HH:mm XXX", "10:00 +25:00"}} {
		f, _ := compileJavaDateFormat(tc[0])
		if got, err := f.parse(tc[1]); err == nil || !strings.HasPrefix(err.Error(), "Unparseable date") {
			t.Errorf("parse %q with %q = %v, %v", tc[1], tc[0], got, err)
		}
	}
}
