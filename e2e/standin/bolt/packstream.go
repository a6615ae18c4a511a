package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
)

// Structure is a PackStream structure: messages, and values such as nodes
// or temporal types that the stand-in passes through without interpreting.
type Structure struct {
	Tag    byte
	Fields []any
}

// Encode appends the PackStream v1 encoding of v to buf. Supported values:
// nil, bool, all integer kinds, float32/64, string, []byte, []any,
// []string, []int64, map[string]any, map[string]string, map[string]int64,
// Structure and *Structure.
func Encode(buf []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(buf, 0xc0), nil
	case bool:
		if x {
			return append(buf, 0xc3), nil
		}
		return append(buf, 0xc2), nil
	case int:
		return encodeInt(buf, int64(x)), nil
	case int8:
		return encodeInt(buf, int64(x)), nil
	case int16:
		return encodeInt(buf, int64(x)), nil
	case int32:
		return encodeInt(buf, int64(x)), nil
	case int64:
		return encodeInt(buf, x), nil
	case uint8:
		return encodeInt(buf, int64(x)), nil
	case uint16:
		return encodeInt(buf, int64(x)), nil
	case uint32:
		return encodeInt(buf, int64(x)), nil
	case float32:
		return encodeFloat(buf, float64(x)), nil
	case float64:
		return encodeFloat(buf, x), nil
	case string:
		buf = header(buf, len(x), 0x80, 0xd0)
		return append(buf, x...), nil
	case []byte:
		return encodeBytes(buf, x), nil
	case []string:
		buf = header(buf, len(x), 0x90, 0xd4)
		for _, s := range x {
			buf, _ = Encode(buf, s)
		}
		return buf, nil
	case []int64:
		buf = header(buf, len(x), 0x90, 0xd4)
		for _, i := range x {
			buf = encodeInt(buf, i)
		}
		return buf, nil
	case []any:
		buf = header(buf, len(x), 0x90, 0xd4)
		var err error
		for _, e := range x {
			if buf, err = Encode(buf, e); err != nil {
				return nil, err
			}
		}
		return buf, nil
	case map[string]any:
		return encodeMap(buf, x)
	case map[string]string:
		m := make(map[string]any, len(x))
		for k, v := range x {
			m[k] = v
		}
		return encodeMap(buf, m)
	case map[string]int64:
		m := make(map[string]any, len(x))
		for k, v := range x {
			m[k] = v
		}
		return encodeMap(buf, m)
	case *Structure:
		return Encode(buf, *x)
	case Structure:
		if len(x.Fields) > 15 {
			return nil, fmt.Errorf("packstream: structure with %d fields", len(x.Fields))
		}
		buf = append(buf, 0xb0+byte(len(x.Fields)), x.Tag)
		var err error
		for _, f := range x.Fields {
			if buf, err = Encode(buf, f); err != nil {
				return nil, err
			}
		}
		return buf, nil
	}
	return nil, fmt.Errorf("packstream: cannot encode %T", v)
}

func encodeInt(buf []byte, i int64) []byte {
	switch {
	case -0x10 <= i && i < 0x80:
		return append(buf, byte(i))
	case -0x80 <= i && i < 0x80:
		return append(buf, 0xc8, byte(i))
	case -0x8000 <= i && i < 0x8000:
		return binary.BigEndian.AppendUint16(append(buf, 0xc9), uint16(i))
	case -0x80000000 <= i && i < 0x80000000:
		return binary.BigEndian.AppendUint32(append(buf, 0xca), uint32(i))
	}
	return binary.BigEndian.AppendUint64(append(buf, 0xcb), uint64(i))
}

func encodeFloat(buf []byte, f float64) []byte {
	return binary.BigEndian.AppendUint64(append(buf, 0xc1), math.Float64bits(f))
}

func encodeBytes(buf []byte, b []byte) []byte {
	switch n := len(b); {
	case n < 0x100:
		buf = append(buf, 0xcc, byte(n))
	case n < 0x10000:
		buf = binary.BigEndian.AppendUint16(append(buf, 0xcd), uint16(n))
	default:
		buf = binary.BigEndian.AppendUint32(append(buf, 0xce), uint32(n))
	}
	return append(buf, b...)
}

// header writes the marker of a string, list or map of n entries: tiny
// form (short|n) below 16, else the 8/16/32-bit size forms at long, long+1,
// long+2.
func header(buf []byte, n int, short, long byte) []byte {
	switch {
	case n < 0x10:
		return append(buf, short+byte(n))
	case n < 0x100:
		return append(buf, long, byte(n))
	case n < 0x10000:
		return binary.BigEndian.AppendUint16(append(buf, long+1), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(buf, long+2), uint32(n))
}

// encodeMap writes keys in sorted order so the encoding is deterministic.
func encodeMap(buf []byte, m map[string]any) ([]byte, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	buf = header(buf, len(m), 0xa0, 0xd8)
	var err error
	for _, k := range keys {
		buf, _ = Encode(buf, k)
		if buf, err = Encode(buf, m[k]); err != nil {
			return nil, err
		}
	}
	return buf, nil
}

var errTruncated = errors.New("packstream: truncated value")

// Decode reads one value from b and returns it with the rest of b.
// Integers decode as int64, floats as float64, lists as []any, maps as
// map[string]any, byte arrays as []byte and structures as Structure.
func Decode(b []byte) (any, []byte, error) {
	d := decoder{b: b}
	v := d.value()
	return v, d.b, d.err
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || len(d.b) < n {
		d.err = errTruncated
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *decoder) size(marker, base byte) int {
	switch marker - base {
	case 0:
		if p := d.take(1); p != nil {
			return int(p[0])
		}
	case 1:
		if p := d.take(2); p != nil {
			return int(binary.BigEndian.Uint16(p))
		}
	case 2:
		if p := d.take(4); p != nil {
			return int(binary.BigEndian.Uint32(p))
		}
	}
	return 0
}

func (d *decoder) value() any {
	p := d.take(1)
	if p == nil {
		return nil
	}
	m := p[0]
	switch {
	case m < 0x80:
		return int64(m)
	case m >= 0xf0:
		return int64(int8(m))
	case m < 0x90:
		return string(d.take(int(m - 0x80)))
	case m < 0xa0:
		return d.list(int(m - 0x90))
	case m < 0xb0:
		return d.mapping(int(m - 0xa0))
	case m < 0xc0:
		return d.structure(int(m - 0xb0))
	}
	switch m {
	case 0xc0:
		return nil
	case 0xc1:
		if p := d.take(8); p != nil {
			return math.Float64frombits(binary.BigEndian.Uint64(p))
		}
	case 0xc2:
		return false
	case 0xc3:
		return true
	case 0xc8:
		if p := d.take(1); p != nil {
			return int64(int8(p[0]))
		}
	case 0xc9:
		if p := d.take(2); p != nil {
			return int64(int16(binary.BigEndian.Uint16(p)))
		}
	case 0xca:
		if p := d.take(4); p != nil {
			return int64(int32(binary.BigEndian.Uint32(p)))
		}
	case 0xcb:
		if p := d.take(8); p != nil {
			return int64(binary.BigEndian.Uint64(p))
		}
	case 0xcc, 0xcd, 0xce:
		b := d.take(d.size(m, 0xcc))
		return append(make([]byte, 0, len(b)), b...)
	case 0xd0, 0xd1, 0xd2:
		return string(d.take(d.size(m, 0xd0)))
	case 0xd4, 0xd5, 0xd6:
		return d.list(d.size(m, 0xd4))
	case 0xd8, 0xd9, 0xda:
		return d.mapping(d.size(m, 0xd8))
	default:
		if d.err == nil {
			d.err = fmt.Errorf("packstream: unknown marker 0x%02x", m)
		}
	}
	return nil
}

func (d *decoder) list(n int) []any {
	if n > len(d.b) { // every entry takes at least one byte
		d.err = errTruncated
		return nil
	}
	l := make([]any, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		l = append(l, d.value())
	}
	return l
}

func (d *decoder) mapping(n int) map[string]any {
	if 2*n > len(d.b) {
		d.err = errTruncated
		return nil
	}
	m := make(map[string]any, n)
	for i := 0; i < n && d.err == nil; i++ {
		k, ok := d.value().(string)
		if !ok && d.err == nil {
			d.err = errors.New("packstream: map key is not a string")
		}
		m[k] = d.value()
	}
	return m
}

func (d *decoder) structure(n int) Structure {
	p := d.take(1)
	if p == nil {
		return Structure{}
	}
	s := Structure{Tag: p[0], Fields: make([]any, 0, n)}
	for i := 0; i < n && d.err == nil; i++ {
		s.Fields = append(s.Fields, d.value())
	}
	return s
}
