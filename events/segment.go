package events

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// A spool segment is a file that starts with segmentMagic and then holds
// records, each framed as
//
//	length  uint32 big-endian, of the payload
//	crc     uint32 big-endian, CRC-32C (Castagnoli) of the payload
//	payload version byte 1, uvarint topic length, topic,
//	        varint key length (-1: null), key, varint value length (-1: null), value
//
// or, for a record with headers, version byte 2 and the same fields
// followed by a uvarint header count and, for each header, uvarint key
// length, key, uvarint value length, value. Records without headers keep
// version 1, so spools written before headers existed read unchanged.
//
// so a torn or damaged record is detected by its checksum, never decoded.
const (
	segmentMagic   = "RGSPOOL1"
	frameHeaderLen = 8
	recordVersion  = 1
	headersVersion = 2
	// maxHeaders bounds the headers of one spooled record.
	maxHeaders = 64
	// maxSpoolRecord bounds one record's payload, so a damaged length
	// prefix cannot ask for gigabytes; Kafka's default limit is 1 MiB.
	maxSpoolRecord = 4 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Segment decoding failures.
var (
	// errShortRecord means the buffer ends inside a record: more bytes
	// are needed, or the record is torn if the segment ends there.
	errShortRecord = errors.New("spool record is incomplete")
	// errCorruptRecord means a frame failed its checksum or its syntax.
	errCorruptRecord = errors.New("spool record is corrupt")
)

// spoolRecord is one record as spooled: unsigned, with what Append got.
type spoolRecord struct {
	topic      string
	key, value []byte
	headers    []Header
}

// encodedLen is the size of r's frame.
func (r *spoolRecord) encodedLen() int {
	n := frameHeaderLen + 1 + 4*binary.MaxVarintLen64 + len(r.topic) + len(r.key) + len(r.value)
	for _, h := range r.headers {
		n += 2*binary.MaxVarintLen64 + len(h.Key) + len(h.Value)
	}
	return n
}

// appendFrame appends r's frame to buf.
func appendFrame(buf []byte, r *spoolRecord) ([]byte, error) {
	start := len(buf)
	buf = append(buf, make([]byte, frameHeaderLen)...)
	if len(r.headers) > maxHeaders {
		return buf[:start], fmt.Errorf("%w: %d headers, limit %d", ErrRecordTooLarge, len(r.headers), maxHeaders)
	}
	version := byte(recordVersion)
	if len(r.headers) > 0 {
		version = headersVersion
	}
	buf = append(buf, version)
	buf = binary.AppendUvarint(buf, uint64(len(r.topic)))
	buf = append(buf, r.topic...)
	buf = appendNullable(buf, r.key)
	buf = appendNullable(buf, r.value)
	if version == headersVersion {
		buf = binary.AppendUvarint(buf, uint64(len(r.headers)))
		for _, h := range r.headers {
			buf = appendString(buf, h.Key)
			buf = appendString(buf, h.Value)
		}
	}
	payload := buf[start+frameHeaderLen:]
	if len(payload) > maxSpoolRecord {
		return buf[:start], fmt.Errorf("%w: record of %d bytes, limit %d", ErrRecordTooLarge, len(payload), maxSpoolRecord)
	}
	binary.BigEndian.PutUint32(buf[start:], uint32(len(payload)))
	binary.BigEndian.PutUint32(buf[start+4:], crc32.Checksum(payload, castagnoli))
	return buf, nil
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

func appendNullable(buf, b []byte) []byte {
	if b == nil {
		return binary.AppendVarint(buf, -1)
	}
	buf = binary.AppendVarint(buf, int64(len(b)))
	return append(buf, b...)
}

// decodeFrame decodes the frame at the start of buf and returns the record
// and the frame's length. The record's slices alias buf. With
// errShortRecord, n is the frame length needed when the length prefix was
// readable, else 0.
func decodeFrame(buf []byte) (r spoolRecord, n int, err error) {
	if len(buf) < frameHeaderLen {
		return r, 0, errShortRecord
	}
	size := binary.BigEndian.Uint32(buf)
	if size == 0 || size > maxSpoolRecord {
		return r, 0, fmt.Errorf("%w: length %d", errCorruptRecord, size)
	}
	n = frameHeaderLen + int(size)
	if len(buf) < n {
		return r, n, errShortRecord
	}
	payload := buf[frameHeaderLen:n]
	if crc32.Checksum(payload, castagnoli) != binary.BigEndian.Uint32(buf[4:]) {
		return r, 0, fmt.Errorf("%w: checksum mismatch", errCorruptRecord)
	}
	r, err = decodePayload(payload)
	return r, n, err
}

func decodePayload(p []byte) (spoolRecord, error) {
	var r spoolRecord
	if len(p) == 0 || (p[0] != recordVersion && p[0] != headersVersion) {
		return r, fmt.Errorf("%w: unknown version", errCorruptRecord)
	}
	version := p[0]
	p = p[1:]
	tlen, k := binary.Uvarint(p)
	if k <= 0 || tlen > uint64(len(p)-k) {
		return r, fmt.Errorf("%w: topic", errCorruptRecord)
	}
	r.topic, p = string(p[k:k+int(tlen)]), p[k+int(tlen):]
	var err error
	if r.key, p, err = decodeNullable(p); err != nil {
		return r, fmt.Errorf("%w: key", errCorruptRecord)
	}
	if r.value, p, err = decodeNullable(p); err != nil {
		return r, fmt.Errorf("%w: value", errCorruptRecord)
	}
	if version == headersVersion {
		if r.headers, p, err = decodeHeaders(p); err != nil {
			return r, err
		}
	}
	if len(p) != 0 {
		return r, fmt.Errorf("%w: %d trailing bytes", errCorruptRecord, len(p))
	}
	return r, nil
}

func decodeNullable(p []byte) (b, rest []byte, err error) {
	n, k := binary.Varint(p)
	switch {
	case k <= 0 || n < -1 || n > int64(len(p)-k):
		return nil, nil, errCorruptRecord
	case n == -1:
		return nil, p[k:], nil
	}
	return p[k : k+int(n) : k+int(n)], p[k+int(n):], nil
}

// scanFrames decodes the whole frames at the start of buf, calling fn with
// each record and the offset (within buf) just past it. It returns the
// number of bytes consumed and why it stopped: nil at the end of buf,
// errShortRecord inside a record, or errCorruptRecord.
func scanFrames(buf []byte, fn func(r spoolRecord, end int)) (int, error) {
	off := 0
	for off < len(buf) {
		r, n, err := decodeFrame(buf[off:])
		if err != nil {
			return off, err
		}
		off += n
		fn(r, off)
	}
	return off, nil
}

func decodeHeaders(p []byte) ([]Header, []byte, error) {
	n, k := binary.Uvarint(p)
	if k <= 0 || n == 0 || n > maxHeaders {
		return nil, nil, fmt.Errorf("%w: header count", errCorruptRecord)
	}
	p = p[k:]
	headers := make([]Header, n)
	for i := range headers {
		var err error
		if headers[i].Key, p, err = decodeString(p); err != nil {
			return nil, nil, fmt.Errorf("%w: header key", errCorruptRecord)
		}
		if headers[i].Value, p, err = decodeString(p); err != nil {
			return nil, nil, fmt.Errorf("%w: header value", errCorruptRecord)
		}
	}
	return headers, p, nil
}

func decodeString(p []byte) (string, []byte, error) {
	n, k := binary.Uvarint(p)
	if k <= 0 || n > uint64(len(p)-k) {
		return "", nil, errCorruptRecord
	}
	return string(p[k : k+int(n)]), p[k+int(n):], nil
}
