package recordbatch

import "hash/crc32"

// castagnoli is the CRC-32C table Kafka uses for v2 batches. It is a package
// level value only because crc32.MakeTable is pure and its result immutable.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Checksum computes the CRC-32C of b.
func Checksum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }
