package cli

import (
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kgo"
)

// DefaultFormat prints each record's value on its own line.
const DefaultFormat = "%v\\n"

// maxFormatBytes bounds a --format template; a template is typed by hand.
const maxFormatBytes = 4096

// recordFormat is a compiled --format template, as kcat -f: literal text
// with verbs %t topic, %p partition, %o offset, %k key, %v value,
// %T timestamp in milliseconds, %h headers (k=v,k=v) and %% a percent sign,
// and the escapes \n, \t, \r and \\ so a template can be typed in a shell.
// The template "json" is not a template: it prints each record as one
// JSON object a line (see jsonRecord).
type recordFormat struct {
	json  bool
	parts []formatPart
}

// formatPart is either literal bytes or one verb.
type formatPart struct {
	literal []byte
	verb    byte // 0 for a literal
}

// parseFormat compiles a template once, so a bad one fails before any
// record is read.
func parseFormat(template string) (recordFormat, error) {
	if template == FormatJSON {
		return recordFormat{json: true}, nil
	}
	if len(template) > maxFormatBytes {
		return recordFormat{}, fmt.Errorf("--format is longer than %d bytes", maxFormatBytes)
	}
	var f recordFormat
	var literal []byte
	flush := func() {
		if len(literal) > 0 {
			f.parts = append(f.parts, formatPart{literal: literal})
			literal = nil
		}
	}
	for i := 0; i < len(template); i++ {
		c := template[i]
		if c != '%' && c != '\\' {
			literal = append(literal, c)
			continue
		}
		if i+1 == len(template) {
			return recordFormat{}, fmt.Errorf("--format ends with a lone %q", c)
		}
		i++
		next := template[i]
		if c == '\\' {
			escaped, ok := formatEscapes[next]
			if !ok {
				return recordFormat{}, fmt.Errorf("--format has unknown escape \\%c (known: \\n \\t \\r \\\\)", next)
			}
			literal = append(literal, escaped)
			continue
		}
		switch next {
		case '%':
			literal = append(literal, '%')
		case 't', 'p', 'o', 'k', 'v', 'T', 'h':
			flush()
			f.parts = append(f.parts, formatPart{verb: next})
		default:
			return recordFormat{}, fmt.Errorf("--format has unknown verb %%%c (known: %%t %%p %%o %%k %%v %%T %%h %%%%)", next)
		}
	}
	flush()
	return f, nil
}

var formatEscapes = map[byte]byte{'n': '\n', 't': '\t', 'r': '\r', '\\': '\\'}

// appendRecord appends r formatted to dst and returns the extended slice,
// so a consumer can reuse one buffer for every record.
func (f recordFormat) appendRecord(dst []byte, r *kgo.Record) []byte {
	if f.json {
		return appendJSONRecord(dst, r)
	}
	for _, p := range f.parts {
		switch p.verb {
		case 0:
			dst = append(dst, p.literal...)
		case 't':
			dst = append(dst, r.Topic...)
		case 'p':
			dst = strconv.AppendInt(dst, int64(r.Partition), 10)
		case 'o':
			dst = strconv.AppendInt(dst, r.Offset, 10)
		case 'k':
			dst = append(dst, r.Key...)
		case 'v':
			dst = append(dst, r.Value...)
		case 'T':
			dst = strconv.AppendInt(dst, r.Timestamp.UnixMilli(), 10)
		case 'h':
			for i, h := range r.Headers {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = append(dst, h.Key...)
				dst = append(dst, '=')
				dst = append(dst, h.Value...)
			}
		}
	}
	return dst
}
