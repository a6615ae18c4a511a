package artifact

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/opsmill/docker-infrahubdb/e2e/standin/store"
)

// nameTime is the time layout in artifact names (local time, like the real
// tool; the image has no time zone data, so that is UTC there).
const nameTime = "2006-01-02T15-04-05"

var nameRE = regexp.MustCompile(`^(.+)-(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2})(?:-(\d+))?\.backup$`)

// Name is the file name of a backup of db taken at t.
func Name(db string, t time.Time) string {
	return db + "-" + t.Local().Format(nameTime) + Ext
}

// NewPath returns a path in dir for a new artifact of db taken at t that
// does not exist yet: two backups in the same second get "-1", "-2", ...
// before the extension instead of overwriting each other (an immutable
// artifact is never replaced).
func NewPath(dir, db string, t time.Time) string {
	base := strings.TrimSuffix(Name(db, t), Ext)
	p := filepath.Join(dir, base+Ext)
	for i := 1; exists(p); i++ {
		p = filepath.Join(dir, base+"-"+strconv.Itoa(i)+Ext)
	}
	return p
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// ParseName splits an artifact file name into database, time and the
// same-second sequence number.
func ParseName(name string) (db string, t time.Time, seq int, ok bool) {
	m := nameRE.FindStringSubmatch(filepath.Base(name))
	if m == nil {
		return "", time.Time{}, 0, false
	}
	t, err := time.ParseInLocation(nameTime, m[2], time.Local)
	if err != nil {
		return "", time.Time{}, 0, false
	}
	if m[3] != "" {
		seq, _ = strconv.Atoi(m[3])
	}
	return m[1], t, seq, true
}

// Info is an artifact found on disk: its path and header.
type Info struct {
	Path string
	Header
}

// List reads the headers of the artifacts at path: every *.backup file of a
// directory, or the one file. Files that are not artifacts are skipped;
// unreadable headers are returned as errors. The result is sorted oldest
// first (backup time, then name).
func List(path string) ([]Info, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	files := []string{path}
	if st.IsDir() {
		files, err = filepath.Glob(filepath.Join(path, "*"+Ext))
		if err != nil {
			return nil, err
		}
	}
	var infos []Info
	var errs []error
	for _, f := range files {
		h, err := ReadHeader(f)
		if errors.Is(err, ErrNotArtifact) && st.IsDir() {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		infos = append(infos, Info{Path: f, Header: h})
	}
	Sort(infos)
	return infos, errors.Join(errs...)
}

// Sort orders artifacts oldest first: backup time, then highest
// transaction, then name (which carries the same-second sequence).
func Sort(infos []Info) {
	sort.SliceStable(infos, func(i, j int) bool {
		a, b := infos[i], infos[j]
		if !a.BackupTime.Equal(b.BackupTime) {
			return a.BackupTime.Before(b.BackupTime)
		}
		if a.HighestTx != b.HighestTx {
			return a.HighestTx < b.HighestTx
		}
		return nameLess(a.Path, b.Path)
	})
}

func nameLess(a, b string) bool {
	_, _, sa, _ := ParseName(a)
	_, _, sb, _ := ParseName(b)
	if sa != sb {
		return sa < sb
	}
	return a < b
}

// ErrNoChain is returned when no complete chain (a full backup followed by
// contiguous differential backups) can be built.
var ErrNoChain = errors.New("no complete backup chain")

// ChainEndingAt returns the chain that ends with end: end itself and,
// walking back through infos, the differential backups before it down to
// their full backup, oldest first. Empty differential backups carry no
// transactions and are left out; when end is one, the chain ends at the
// newest non-empty artifact before it.
func ChainEndingAt(infos []Info, end Info) ([]Info, error) {
	var cands []Info
	for _, in := range infos {
		if in.Database == end.Database && in.StoreID == end.StoreID && !in.Empty() && !in.BackupTime.After(end.BackupTime) && in.Path != end.Path {
			cands = append(cands, in)
		}
	}
	Sort(cands)
	cur := end
	if end.Empty() {
		if len(cands) == 0 {
			return nil, fmt.Errorf("%w ends at %s", ErrNoChain, end.Path)
		}
		cur, cands = cands[len(cands)-1], cands[:len(cands)-1]
	}
	chain := []Info{cur}
	for !cur.Full {
		prev, ok := predecessor(cands, cur)
		if !ok {
			return nil, fmt.Errorf("%w ends at %s: no backup holds transaction %d of database '%s'", ErrNoChain, end.Path, cur.LowestTx-1, end.Database)
		}
		chain = append(chain, prev)
		cur = prev
	}
	for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
		chain[i], chain[j] = chain[j], chain[i]
	}
	return chain, nil
}

// predecessor is the newest artifact whose last transaction is the one just
// before cur's first.
func predecessor(cands []Info, cur Info) (Info, bool) {
	for i := len(cands) - 1; i >= 0; i-- {
		c := cands[i]
		if c.HighestTx == cur.LowestTx-1 && c.BackupTime.Before(cur.BackupTime) || c.HighestTx == cur.LowestTx-1 && c.BackupTime.Equal(cur.BackupTime) && nameLess(c.Path, cur.Path) {
			return c, true
		}
	}
	return Info{}, false
}

// NewestChain returns the newest complete chain of db among infos: the
// chain ending at the newest artifact from which one can be built.
func NewestChain(infos []Info, db string) ([]Info, error) {
	var mine []Info
	for _, in := range infos {
		if in.Database == db {
			mine = append(mine, in)
		}
	}
	if len(mine) == 0 {
		return nil, fmt.Errorf("%w: no backup of database '%s'", ErrNoChain, db)
	}
	Sort(mine)
	var firstErr error
	for i := len(mine) - 1; i >= 0; i-- {
		chain, err := ChainEndingAt(mine, mine[i])
		if err == nil {
			return chain, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

// Databases returns the names of the databases that have artifacts in infos.
func Databases(infos []Info) []string {
	seen := map[string]bool{}
	var dbs []string
	for _, in := range infos {
		if !seen[in.Database] {
			seen[in.Database] = true
			dbs = append(dbs, in.Database)
		}
	}
	sort.Strings(dbs)
	return dbs
}

// ReadChain reads and verifies every artifact of a chain and returns the
// header of the last one and all transactions, in order.
func ReadChain(chain []Info) (Header, []store.Tx, error) {
	last, raw, err := ReadRawChain(chain)
	if err != nil {
		return Header{}, nil, err
	}
	txs, err := decodeAll(raw)
	if err != nil {
		return Header{}, nil, &CorruptError{Path: chain[len(chain)-1].Path, Reason: err.Error()}
	}
	return last, txs, nil
}

// ReadRawChain is ReadChain with the transactions as log lines.
func ReadRawChain(chain []Info) (Header, []store.RawTx, error) {
	var all []store.RawTx
	var last Header
	for _, in := range chain {
		h, txs, err := ReadRaw(in.Path)
		if err != nil {
			return Header{}, nil, err
		}
		if len(all) > 0 && len(txs) > 0 && txs[0].ID != all[len(all)-1].ID+1 {
			return Header{}, nil, fmt.Errorf("%w: %s starts at transaction %d after %d", ErrNoChain, in.Path, txs[0].ID, all[len(all)-1].ID)
		}
		all = append(all, txs...)
		last = h
	}
	return last, all, nil
}

// Aggregate reads a chain and returns the header and transactions of the
// single full artifact that replaces it: the store of the full backup with
// every differential backup applied, keeping the newest artifact's time,
// compression and metadata.
func Aggregate(chain []Info) (Header, []store.Tx, error) {
	h, raw, err := AggregateRaw(chain)
	if err != nil {
		return Header{}, nil, err
	}
	txs, err := decodeAll(raw)
	return h, txs, err
}

// AggregateRaw is Aggregate with the transactions as log lines.
func AggregateRaw(chain []Info) (Header, []store.RawTx, error) {
	last, txs, err := ReadRawChain(chain)
	if err != nil {
		return Header{}, nil, err
	}
	h := last
	h.Full = true
	h.LowestTx = 1
	if len(txs) > 0 {
		h.HighestTx = txs[len(txs)-1].ID
	} else {
		h.HighestTx = chain[0].HighestTx
	}
	return h, txs, nil
}
