package pgdump

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// The reader below follows the custom archive format as pg_dump writes it
// and pg_restore reads it (PostgreSQL's pg_backup_archiver.c ReadHead and
// ReadToc, pg_backup_custom.c for the data blocks). It reads what
// pg_restore --list reads (the header and the whole table of contents) and
// then walks every data block the table of contents announces, without
// decompressing it: a dump cut short anywhere, or whose table of contents
// points outside the file, fails here instead of in pg_restore after the
// applications were stopped. No PostgreSQL is needed.

// Archive versions (MAKE_ARCHIVE_VERSION: major<<16 | minor<<8 | revision).
const (
	vers1_2  = 1<<16 | 2<<8
	vers1_3  = 1<<16 | 3<<8
	vers1_4  = 1<<16 | 4<<8
	vers1_5  = 1<<16 | 5<<8
	vers1_6  = 1<<16 | 6<<8
	vers1_7  = 1<<16 | 7<<8
	vers1_8  = 1<<16 | 8<<8
	vers1_9  = 1<<16 | 9<<8
	vers1_10 = 1<<16 | 10<<8
	vers1_11 = 1<<16 | 11<<8
	vers1_14 = 1<<16 | 14<<8
	vers1_15 = 1<<16 | 15<<8
	// versKnown is the newest archive version this reader knows (pg_dump
	// 16's). A newer one is read as far as its header's version only.
	versKnown = 1<<16 | 15<<8 | 0xff
)

// Archive formats of the header's format byte (pg_backup.h ArchiveFormat).
const formatCustom = 1

var formatNames = map[int]string{0: "unknown", 1: "custom", 2: "files", 3: "tar", 4: "plain", 5: "directory"}

// Data states of a TOC entry in a custom archive (pg_backup_archiver.h).
const (
	offsetPosNotSet = 1 // has data; where is not known (pg_dump wrote to a pipe)
	offsetPosSet    = 2 // has data at DataPos
	offsetNoData    = 3
)

// Data block types (pg_backup_archiver.h).
const (
	blockData  = 1
	blockBlobs = 3
)

// Archive is what the header and table of contents of a custom-format dump
// say, and what was found of its data.
type Archive struct {
	// Version is the archive format's version ("1.14-0"; pg_dump 15).
	Version string `json:"version"`
	// Known is false for an archive version newer than this reader knows:
	// then only the header's magic and version were read (Warning says so).
	Known         bool       `json:"known"`
	Warning       string     `json:"warning,omitempty"`
	IntSize       int        `json:"int_size,omitempty"`
	OffSize       int        `json:"offset_size,omitempty"`
	Compression   string     `json:"compression,omitempty"`
	Created       time.Time  `json:"created,omitzero"`
	Database      string     `json:"database,omitempty"`
	ServerVersion string     `json:"server_version,omitempty"`
	PgDumpVersion string     `json:"pg_dump_version,omitempty"`
	Entries       []TOCEntry `json:"-"`
	DataBlocks    int        `json:"data_blocks"`
}

// TOCEntry is one entry of the table of contents (pg_restore --list shows
// one line per entry).
type TOCEntry struct {
	DumpID     int
	HadDumper  bool
	TableOID   uint32
	OID        uint32
	Tag        string
	Desc       string
	Section    int
	Defn       string
	DropStmt   string
	CopyStmt   string
	Namespace  string
	Tablespace string
	TableAM    string
	Owner      string
	WithOids   bool
	Deps       []int
	// DataState is offsetPosSet, offsetPosNotSet or offsetNoData.
	DataState int
	DataPos   int64
}

// HasData reports an entry with a data block.
func (e TOCEntry) HasData() bool { return e.DataState != offsetNoData }

// Tables counts the entries that create a table.
func (a *Archive) Tables() int {
	n := 0
	for _, e := range a.Entries {
		if e.Desc == "TABLE" {
			n++
		}
	}
	return n
}

// ArchiveError is a file that is not a whole, readable custom-format dump.
type ArchiveError struct{ Why string }

func (e *ArchiveError) Error() string {
	return "not a readable pg_dump custom-format archive: " + e.Why
}

func archiveErr(format string, args ...any) error {
	return &ArchiveError{Why: fmt.Sprintf(format, args...)}
}

// errShort is reading past the end of the file (a truncated dump).
var errShort = errors.New("the file ends early")

// archiveReader reads the archive's primitives (ReadInt, ReadStr,
// ReadOffset) from pos, through a window of the file: a dump's data is
// thousands of small chunks, each a few bytes of length to read.
type archiveReader struct {
	r       io.ReaderAt
	size    int64
	pos     int64
	version int
	intSize int
	offSize int
	win     *window
}

// window holds the bytes of the file from off.
type window struct {
	off int64
	b   []byte
}

const windowSize = 64 << 10

func (ar *archiveReader) byte() (int, error) {
	if ar.pos >= ar.size {
		return 0, errShort
	}
	w := ar.win
	if w == nil || ar.pos < w.off || ar.pos >= w.off+int64(len(w.b)) {
		n := min(int64(windowSize), ar.size-ar.pos)
		b := make([]byte, n)
		if _, err := ar.r.ReadAt(b, ar.pos); err != nil && !(errors.Is(err, io.EOF) && ar.pos+n == ar.size) {
			if errors.Is(err, io.EOF) {
				return 0, errShort
			}
			return 0, err
		}
		w = &window{off: ar.pos, b: b}
		ar.win = w
	}
	c := w.b[ar.pos-w.off]
	ar.pos++
	return int(c), nil
}

func (ar *archiveReader) bytes(n int64) ([]byte, error) {
	if n < 0 || n > ar.size-ar.pos {
		return nil, errShort
	}
	b := make([]byte, n)
	// What the window holds comes from it: a reader that can only go
	// forward (a file decrypted as it is read) has read past it already.
	k := int64(0)
	if w := ar.win; w != nil && ar.pos >= w.off && ar.pos < w.off+int64(len(w.b)) {
		k = int64(copy(b, w.b[ar.pos-w.off:]))
	}
	if k < n {
		if _, err := ar.r.ReadAt(b[k:], ar.pos+k); err != nil && !(errors.Is(err, io.EOF) && ar.pos+n == ar.size) {
			if errors.Is(err, io.EOF) {
				return nil, errShort
			}
			return nil, err
		}
	}
	ar.pos += n
	return b, nil
}

// skip moves past n bytes, which must be in the file.
func (ar *archiveReader) skip(n int64) error {
	if n < 0 || n > ar.size-ar.pos {
		return errShort
	}
	ar.pos += n
	return nil
}

// int is ReadInt: a sign byte, then intSize bytes, least significant first.
func (ar *archiveReader) int() (int64, error) {
	sign, err := ar.byte()
	if err != nil {
		return 0, err
	}
	var v uint64
	for i := 0; i < ar.intSize; i++ {
		b, err := ar.byte()
		if err != nil {
			return 0, err
		}
		if i < 8 {
			v |= uint64(b) << (8 * i)
		} else if b != 0 {
			return 0, archiveErr("an integer does not fit in 64 bits")
		}
	}
	if v > 1<<62 {
		return 0, archiveErr("an integer is out of range")
	}
	if sign != 0 {
		return -int64(v), nil
	}
	return int64(v), nil
}

// str is ReadStr: a length (-1: no string), then that many bytes. ok is
// false for no string.
func (ar *archiveReader) str() (s string, ok bool, err error) {
	n, err := ar.int()
	if err != nil {
		return "", false, err
	}
	if n < 0 {
		return "", false, nil
	}
	b, err := ar.bytes(n)
	if err != nil {
		return "", false, err
	}
	return string(b), true, nil
}

// offset is ReadOffset: a data state, then offSize bytes of position.
func (ar *archiveReader) offset() (state int, pos int64, err error) {
	if ar.version < vers1_7 {
		i, err := ar.int()
		switch {
		case err != nil:
			return 0, 0, err
		case i < 0:
			return offsetPosNotSet, 0, nil
		case i == 0:
			return offsetNoData, 0, nil
		}
		return offsetPosSet, i, nil
	}
	if state, err = ar.byte(); err != nil {
		return 0, 0, err
	}
	if state != offsetPosNotSet && state != offsetPosSet && state != offsetNoData {
		return 0, 0, archiveErr("unexpected data offset flag %d", state)
	}
	var v uint64
	for i := 0; i < ar.offSize; i++ {
		b, err := ar.byte()
		if err != nil {
			return 0, 0, err
		}
		if i < 8 {
			v |= uint64(b) << (8 * i)
		} else if b != 0 {
			return 0, 0, archiveErr("a file offset is too large")
		}
	}
	if v > 1<<62 {
		return 0, 0, archiveErr("a file offset is out of range")
	}
	return state, int64(v), nil
}

// ReadArchive reads the header and the whole table of contents of a
// custom-format dump of size bytes, as pg_restore --list does, and checks
// that every data block the table of contents announces is in the file,
// whole (its chunks end with the end marker before the end of the file).
// An archive version newer than this reader knows is read no further than
// its version: Known is false and Warning says so, with no error (a newer
// pg_dump's good dump is not refused).
func ReadArchive(r io.ReaderAt, size int64) (*Archive, error) {
	ar := &archiveReader{r: r, size: size}
	a, err := ar.head()
	if err != nil || !a.Known {
		return a, shortIs(err, "in its header")
	}
	if err := ar.toc(a); err != nil {
		return nil, shortIs(err, "in its table of contents")
	}
	if err := ar.data(a); err != nil {
		return nil, err
	}
	return a, nil
}

func shortIs(err error, where string) error {
	if errors.Is(err, errShort) {
		return archiveErr("the file ends %s (truncated)", where)
	}
	return err
}

func (ar *archiveReader) head() (*Archive, error) {
	magic, err := ar.bytes(int64(len(customMagic)))
	if err != nil || string(magic) != customMagic {
		return nil, archiveErr("no PGDMP header (a plain-SQL dump, or not a dump at all; the task manager is dumped with pg_dump --format=custom)")
	}
	vmaj, err := ar.byte()
	if err != nil {
		return nil, err
	}
	vmin, err := ar.byte()
	if err != nil {
		return nil, err
	}
	vrev := 0
	if vmaj > 1 || (vmaj == 1 && vmin > 0) {
		if vrev, err = ar.byte(); err != nil {
			return nil, err
		}
	}
	ar.version = vmaj<<16 | vmin<<8 | vrev
	a := &Archive{Version: fmt.Sprintf("%d.%d-%d", vmaj, vmin, vrev)}
	if vmaj != 1 {
		// Every pg_dump so far writes 1.x; a later one refused here says
		// so, where a file that only starts with PGDMP reads as nonsense.
		return nil, archiveErr("unsupported archive version %d.%d (pg_dump writes 1.x)", vmaj, vmin)
	}
	if ar.version > versKnown {
		a.Warning = fmt.Sprintf("archive version %s is newer than this plugin reads (up to 1.15, pg_dump 16): only its header was checked; pg_restore --list will read the rest", a.Version)
		return a, nil
	}
	if ar.intSize, err = ar.byte(); err != nil {
		return nil, err
	}
	if ar.intSize < 1 || ar.intSize > 32 {
		return nil, archiveErr("integer size %d fails the sanity check", ar.intSize)
	}
	ar.offSize = ar.intSize
	if ar.version >= vers1_7 {
		if ar.offSize, err = ar.byte(); err != nil {
			return nil, err
		}
		if ar.offSize < 1 || ar.offSize > 32 {
			return nil, archiveErr("offset size %d fails the sanity check", ar.offSize)
		}
	}
	a.IntSize, a.OffSize = ar.intSize, ar.offSize
	format, err := ar.byte()
	if err != nil {
		return nil, err
	}
	if format != formatCustom {
		name := formatNames[format]
		if name == "" {
			name = strconv.Itoa(format)
		}
		return nil, archiveErr("the archive's format is %s, not custom (pg_dump --format=custom)", name)
	}
	switch {
	case ar.version >= vers1_15:
		alg, err := ar.byte()
		if err != nil {
			return nil, err
		}
		a.Compression = map[int]string{0: "none", 1: "gzip", 2: "lz4", 3: "zstd"}[alg]
		if a.Compression == "" {
			return nil, archiveErr("unknown compression algorithm %d", alg)
		}
	case ar.version >= vers1_4:
		level, err := ar.int()
		if err != nil {
			return nil, err
		}
		a.Compression = compressionLevel(level)
	case ar.version >= vers1_2:
		level, err := ar.byte()
		if err != nil {
			return nil, err
		}
		a.Compression = compressionLevel(int64(level))
	default:
		a.Compression = "gzip"
	}
	if ar.version >= vers1_4 {
		var tm [7]int64 // sec, min, hour, mday, mon, year, isdst
		for i := range tm {
			if tm[i], err = ar.int(); err != nil {
				return nil, err
			}
		}
		if tm[5] > 0 && tm[5] < 10000 {
			a.Created = time.Date(int(1900+tm[5]), time.Month(tm[4]+1), int(tm[3]), int(tm[2]), int(tm[1]), int(tm[0]), 0, time.UTC)
		}
		if a.Database, _, err = ar.str(); err != nil {
			return nil, err
		}
	}
	if ar.version >= vers1_10 {
		if a.ServerVersion, _, err = ar.str(); err != nil {
			return nil, err
		}
		if a.PgDumpVersion, _, err = ar.str(); err != nil {
			return nil, err
		}
	}
	a.Known = true
	return a, nil
}

func compressionLevel(level int64) string {
	switch {
	case level == 0:
		return "none"
	case level < 0:
		return "gzip (default level)"
	}
	return fmt.Sprintf("gzip (level %d)", level)
}

func (ar *archiveReader) toc(a *Archive) error {
	count, err := ar.int()
	if err != nil {
		return err
	}
	// Every entry takes more than a few bytes: a count the file cannot
	// hold is corruption, not a reason to allocate.
	if count < 0 || count > ar.size/8 {
		return archiveErr("a table of contents of %d entries does not fit in %d bytes", count, ar.size)
	}
	a.Entries = make([]TOCEntry, 0, count)
	seen := map[int]bool{}
	for i := int64(0); i < count; i++ {
		e, err := ar.entry()
		if err != nil {
			return err
		}
		if seen[e.DumpID] {
			return archiveErr("entry ID %d appears twice in the table of contents", e.DumpID)
		}
		seen[e.DumpID] = true
		a.Entries = append(a.Entries, e)
	}
	return nil
}

func (ar *archiveReader) entry() (TOCEntry, error) {
	var e TOCEntry
	id, err := ar.int()
	if err != nil {
		return e, err
	}
	if id <= 0 || id > 1<<31-1 {
		return e, archiveErr("entry ID %d out of range (a corrupt table of contents)", id)
	}
	e.DumpID = int(id)
	had, err := ar.int()
	if err != nil {
		return e, err
	}
	e.HadDumper = had != 0
	oid := func(dst *uint32) error {
		s, _, err := ar.str()
		if err != nil {
			return err
		}
		v, perr := strconv.ParseUint(s, 10, 32)
		if perr != nil {
			return archiveErr("entry %d: OID %q is not a number", e.DumpID, s)
		}
		*dst = uint32(v)
		return nil
	}
	if ar.version >= vers1_8 {
		if err := oid(&e.TableOID); err != nil {
			return e, err
		}
	}
	if err := oid(&e.OID); err != nil {
		return e, err
	}
	strs := []*string{&e.Tag, &e.Desc}
	for _, p := range strs {
		if *p, _, err = ar.str(); err != nil {
			return e, err
		}
	}
	if ar.version >= vers1_11 {
		s, err := ar.int()
		if err != nil {
			return e, err
		}
		if s < 1 || s > 4 { // SECTION_NONE .. SECTION_POST_DATA
			return e, archiveErr("entry %d: section %d out of range", e.DumpID, s)
		}
		e.Section = int(s)
	}
	strs = []*string{&e.Defn, &e.DropStmt}
	if ar.version >= vers1_3 {
		strs = append(strs, &e.CopyStmt)
	}
	if ar.version >= vers1_6 {
		strs = append(strs, &e.Namespace)
	}
	if ar.version >= vers1_10 {
		strs = append(strs, &e.Tablespace)
	}
	if ar.version >= vers1_14 {
		strs = append(strs, &e.TableAM)
	}
	strs = append(strs, &e.Owner)
	for _, p := range strs {
		if *p, _, err = ar.str(); err != nil {
			return e, err
		}
	}
	if ar.version >= vers1_9 {
		s, _, err := ar.str()
		if err != nil {
			return e, err
		}
		e.WithOids = s == "true"
	}
	if ar.version >= vers1_5 {
		for {
			s, ok, err := ar.str()
			if err != nil {
				return e, err
			}
			if !ok {
				break
			}
			d, perr := strconv.Atoi(s)
			if perr != nil {
				return e, archiveErr("entry %d: dependency %q is not an entry ID", e.DumpID, s)
			}
			e.Deps = append(e.Deps, d)
		}
	}
	// The custom format's own part of an entry: where its data is.
	if e.DataState, e.DataPos, err = ar.offset(); err != nil {
		return e, err
	}
	if ar.version < vers1_7 {
		if _, err := ar.int(); err != nil { // the data's size, no longer written
			return e, err
		}
	}
	return e, nil
}

// data checks the data block of every entry that has one: at its recorded
// offset when pg_dump could seek back to write it, else where pg_restore
// finds it, in the blocks that follow the table of contents in order.
func (ar *archiveReader) data(a *Archive) error {
	byID := map[int]*TOCEntry{}
	var pending int // entries with data at an unknown place
	for i := range a.Entries {
		e := &a.Entries[i]
		byID[e.DumpID] = e
		switch e.DataState {
		case offsetPosSet:
			if e.DataPos < ar.pos || e.DataPos >= ar.size {
				return archiveErr("the data of entry %d (%s %s) is at offset %d, outside the file's %d bytes (truncated)", e.DumpID, e.Desc, e.Tag, e.DataPos, ar.size)
			}
			at := *ar
			at.pos = e.DataPos
			if err := at.block(e); err != nil {
				return err
			}
			a.DataBlocks++
		case offsetPosNotSet:
			pending++
		}
	}
	// Blocks follow the table of contents in dump order; pg_restore skips
	// those it does not want until it finds the one it does.
	found := map[int]bool{}
	for pending > 0 {
		if ar.pos >= ar.size {
			for _, e := range a.Entries {
				if e.DataState == offsetPosNotSet && !found[e.DumpID] {
					return archiveErr("the data of entry %d (%s %s) is not in the file (truncated)", e.DumpID, e.Desc, e.Tag)
				}
			}
		}
		start := ar.pos
		typ, id, err := ar.blockHeader()
		if err != nil {
			return shortIs(err, fmt.Sprintf("inside the data block at offset %d", start))
		}
		e := byID[id]
		if e == nil || !e.HasData() {
			return archiveErr("a data block at offset %d belongs to entry %d, which has no data in the table of contents (a corrupt archive)", start, id)
		}
		if err := ar.blockBody(e, typ, start); err != nil {
			return err
		}
		if e.DataState == offsetPosNotSet && !found[id] {
			found[id] = true
			pending--
			a.DataBlocks++
		}
	}
	return nil
}

func (ar *archiveReader) blockHeader() (typ, id int, err error) {
	typ = blockData
	if ar.version >= vers1_3 {
		if typ, err = ar.byte(); err != nil {
			return 0, 0, err
		}
	}
	i, err := ar.int()
	if err != nil {
		return 0, 0, err
	}
	return typ, int(i), nil
}

// block checks the data block of e at ar.pos.
func (ar *archiveReader) block(e *TOCEntry) error {
	start := ar.pos
	typ, id, err := ar.blockHeader()
	if err != nil {
		return shortIs(err, fmt.Sprintf("inside the data of entry %d (%s %s)", e.DumpID, e.Desc, e.Tag))
	}
	if id != e.DumpID {
		return archiveErr("the data of entry %d (%s %s) at offset %d holds block ID %d instead", e.DumpID, e.Desc, e.Tag, start, id)
	}
	return ar.blockBody(e, typ, start)
}

// blockBody walks a block's chunks to their end marker (_skipData,
// _skipLOs).
func (ar *archiveReader) blockBody(e *TOCEntry, typ int, start int64) error {
	chunks := func() error {
		for {
			n, err := ar.int()
			if err != nil {
				return err
			}
			if n == 0 {
				return nil
			}
			if n < 0 {
				return archiveErr("the data of entry %d (%s %s) has a chunk of %d bytes", e.DumpID, e.Desc, e.Tag, n)
			}
			if err := ar.skip(n); err != nil {
				return err
			}
		}
	}
	var err error
	switch typ {
	case blockData:
		err = chunks()
	case blockBlobs:
		for {
			var oid int64
			if oid, err = ar.int(); err != nil || oid == 0 {
				break
			}
			if err = chunks(); err != nil {
				break
			}
		}
	default:
		return archiveErr("the data of entry %d (%s %s) at offset %d has the unknown block type %d", e.DumpID, e.Desc, e.Tag, start, typ)
	}
	return shortIs(err, fmt.Sprintf("inside the data of entry %d (%s %s)", e.DumpID, e.Desc, e.Tag))
}
