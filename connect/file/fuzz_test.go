package file

import (
	"bytes"
	"testing"
)

// FuzzExtractLine feeds file contents in two reads, as a growing file
// gives them, and checks that the lines and their ends account for every
// byte consumed, whatever the split.
func FuzzExtractLine(f *testing.F) {
	for _, seed := range []string{"a\nb\r\nc\rd", "\r", "\r\n\r\n", "no end", "\n\n\r\r\n", "é\r"} {
		f.Add([]byte(seed), uint8(1))
	}
	f.Fuzz(func(t *testing.T, data []byte, split uint8) {
		cut := int(split) % (len(data) + 1)
		var pending, rebuilt []byte
		consumed := 0
		for _, part := range [][]byte{data[:cut], data[cut:]} {
			pending = append(pending, part...)
			for {
				line, n, ok := extractLine(pending)
				if !ok {
					break
				}
				if n <= len(line) || bytes.ContainsAny(line, "\r\n") {
					t.Fatalf("line %q took %d bytes", line, n)
				}
				rebuilt = append(rebuilt, pending[:n]...)
				pending, consumed = pending[n:], consumed+n
			}
		}
		if !bytes.Equal(rebuilt, data[:consumed]) || !bytes.Equal(pending, data[consumed:]) {
			t.Fatalf("lost bytes: consumed %d of %q", consumed, data)
		}
		if bytes.ContainsAny(pending, "\n") || bytes.Contains(pending[:max(len(pending)-1, 0)], []byte("\r")) {
			t.Fatalf("a complete line was left in %q", pending)
		}
	})
}
