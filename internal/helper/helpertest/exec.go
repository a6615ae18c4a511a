package helpertest

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
)

// MetadataScript is what the fake neo4j-admin restore writes to
// /data/scripts/<db>/restore_metadata.cypher when the artifact holds
// metadata.
const MetadataScript = ":param database => 'neo4j';\nCREATE ROLE `reader` IF NOT EXISTS;\nGRANT ACCESS ON DATABASE $database TO `reader`;\n"

// Exec runs a command in the helper; see the package doc for the commands.
func (h *Helper) Exec(ctx context.Context, spec docker.ExecSpec) (int, error) {
	line := "exec " + strings.Join(spec.Cmd, " ")
	if spec.User != "" {
		line += " (user " + spec.User + ")"
	}
	h.eng.Record("%s", line)
	if err := ctx.Err(); err != nil {
		return -1, err
	}
	if h.isStopped() {
		// As the engine answers an exec in a container that does not run.
		return -1, fmt.Errorf("container %s is not running", h.name)
	}
	if spec.Started != nil {
		spec.Started()
	}
	stdout, stderr := orDiscard(spec.Stdout), orDiscard(spec.Stderr)
	if f := h.eng.fault(cmdKey(spec.Cmd)); f != nil {
		if err := f.fire(ctx); err != nil {
			return -1, err
		}
		if err := ctx.Err(); err != nil {
			return -1, err
		}
		if f.Code != 0 {
			fmt.Fprintln(stderr, f.Stderr)
			return f.Code, nil
		}
	}
	if len(spec.Cmd) == 2 && spec.Cmd[0] == "id" {
		return h.idCmd(spec.User, spec.Cmd[1], stdout)
	}
	if h.eng.Admin != nil && len(spec.Cmd) > 0 && spec.Cmd[0] == "neo4j-admin" {
		return h.eng.Admin(h, spec.Cmd[1:], stdout), nil
	}
	h.eng.mu.Lock()
	defer h.eng.mu.Unlock()
	h.eng.Server.mu.Lock()
	defer h.eng.Server.mu.Unlock()
	return h.run(spec.Cmd, stdout, stderr), nil
}

// idCmd prints the uid (id -u) or gid (id -g) an exec runs as: its own user,
// else the helper's (HelperSpec.User), else root. The fake has no
// /etc/passwd, so only numeric users: a uid alone runs with gid 0, as
// Docker runs a uid its image's passwd does not name.
func (h *Helper) idCmd(user, flag string, stdout io.Writer) (int, error) {
	if user == "" {
		user = h.spec.User
	}
	uid, gid, _ := strings.Cut(user, ":")
	uid, gid = cmp.Or(uid, "0"), cmp.Or(gid, "0")
	for _, n := range []string{uid, gid} {
		if _, err := strconv.Atoi(n); err != nil {
			return -1, fmt.Errorf("unable to find user %s: no matching entries in passwd file (the fake engine knows numeric users only)", user)
		}
	}
	switch flag {
	case "-u":
		fmt.Fprintln(stdout, uid)
	case "-g":
		fmt.Fprintln(stdout, gid)
	default:
		return -1, fmt.Errorf("fake helper: unsupported command id %s", flag)
	}
	return 0, nil
}

func (h *Helper) run(cmd []string, stdout, stderr io.Writer) int {
	if code, ok := h.runOffline(cmd, stdout, stderr); ok {
		return code
	}
	// What writes under a read-only mount fails as on Docker.
	if writes := map[string]int{"mkdir": 2, "rm": 2, "mv": 2, "find": 1}[cmdKey(cmd)]; writes > 0 && len(cmd) > writes && h.fs.ro(cmd[writes]) {
		fmt.Fprintf(stderr, "%s: cannot write under '%s': %v\n", cmd[0], cmd[writes], errReadOnly)
		return 1
	}
	switch key := cmdKey(cmd); key {
	case "version":
		v := h.eng.HelperVersion
		if v == "" {
			v = h.eng.Server.Version
		}
		fmt.Fprintln(stdout, v)
		return 0
	case "backup":
		return h.backup(cmd[3:], stdout, stderr)
	case "aggregate":
		return h.aggregate(cmd[3:], stdout, stderr)
	case "inspect":
		return h.inspect(cmd[3:], stdout, stderr)
	case "restore":
		return h.restore(cmd[3:], stdout, stderr)
	case "stat":
		if slices.Equal(cmd, []string{"stat", "-c", "%u:%g", "/data"}) {
			if _, isDir, _ := h.fs.stat("/data"); isDir {
				fmt.Fprintln(stdout, h.eng.Server.DataOwner)
				return 0
			}
			fmt.Fprintln(stderr, "stat: cannot statx '/data': No such file or directory")
			return 1
		}
	case "find":
		if len(cmd) == 5 && cmd[2] == "-mindepth" && cmd[4] == "-delete" {
			h.fs.removeUnder(cmd[1])
			return 0
		}
		// find DIR -mindepth 1 ! -path P ... -delete: everything but the
		// entries matching a P; a directory still holding one is not empty,
		// which find reports with exit code 1.
		if len(cmd) > 5 && cmd[2] == "-mindepth" && cmd[len(cmd)-1] == "-delete" && (len(cmd)-5)%3 == 0 {
			var keep []string
			for i := 4; i < len(cmd)-1; i += 3 {
				if cmd[i] != "!" || cmd[i+1] != "-path" {
					break
				}
				keep = append(keep, cmd[i+2])
			}
			if len(keep) == (len(cmd)-5)/3 {
				if !h.fs.removeUnderExcept(cmd[1], keep) {
					fmt.Fprintf(stderr, "find: cannot delete: Directory not empty\n")
					return 1
				}
				return 0
			}
		}
	case "chmod", "chown":
		return 0 // the fake file system has no owners or modes
	case "rm":
		if len(cmd) == 3 && (cmd[1] == "-rf" || cmd[1] == "-f") {
			h.fs.removeAll(cmd[2])
			return 0
		}
	case "mv":
		if len(cmd) == 3 {
			data, err := h.fs.read(cmd[1])
			if err != nil {
				fmt.Fprintf(stderr, "mv: cannot stat '%s': No such file or directory\n", cmd[1])
				return 1
			}
			if err := h.fs.write(cmd[2], data); err != nil {
				fmt.Fprintln(stderr, err)
				return 1
			}
			_ = h.fs.remove(cmd[1])
			return 0
		}
	case "ln":
		// ln -f SRC DST: a copy stands for the hard link; DST's folder
		// must exist.
		if len(cmd) == 4 && cmd[1] == "-f" {
			data, err := h.fs.read(cmd[2])
			if err == nil {
				err = h.fs.write(cmd[3], data)
			}
			if err != nil {
				fmt.Fprintf(stderr, "ln: %v\n", err)
				return 1
			}
			return 0
		}
	case "mkdir":
		if len(cmd) >= 3 && cmd[1] == "-p" {
			for _, d := range cmd[2:] {
				h.fs.mkdirAll(d)
			}
			return 0
		}
	}
	fmt.Fprintf(stderr, "fake helper: unsupported command %q\n", cmd)
	return 127
}

// artifact is what a fake backup file holds: a header line and the data.
type artifact struct {
	name     string
	db       string
	full     bool
	from, to int64
	metadata string
	data     string
}

func (a artifact) encode() []byte {
	return fmt.Appendf(nil, "fake-neo4j-backup db=%s full=%t from=%d to=%d metadata=%s\n%s\n", a.db, a.full, a.from, a.to, a.metadata, a.data)
}

func decode(name string, b []byte) (artifact, bool) {
	head, data, _ := strings.Cut(string(b), "\n")
	a := artifact{name: name, data: strings.TrimSuffix(data, "\n")}
	_, err := fmt.Sscanf(head, "fake-neo4j-backup db=%s full=%t from=%d to=%d metadata=%s", &a.db, &a.full, &a.from, &a.to, &a.metadata)
	return a, err == nil
}

// chain lists db's artifacts in dir in time order (all of them when db is "").
func (h *Helper) chain(dir, db string) []artifact {
	var out []artifact
	for _, f := range h.fs.list(dir) {
		name, _, ok := backupset.ParseArtifactName(f.Name)
		if !ok || (db != "" && name != db) {
			continue
		}
		data, err := h.fs.read(path.Join(dir, f.Name))
		if a, ok := decode(f.Name, data); err == nil && ok {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b artifact) int {
		_, ta, _ := backupset.ParseArtifactName(a.name)
		_, tb, _ := backupset.ParseArtifactName(b.name)
		return ta.Compare(tb)
	})
	return out
}

func (h *Helper) backup(args []string, stdout, stderr io.Writer) int {
	fl, dbs := flags(args)
	s := h.eng.Server
	dir := fl["--to-path"]
	if _, isDir, _ := h.fs.stat(dir); !isDir {
		fmt.Fprintf(stderr, "Directory '%s' does not exist.\n", dir)
		return 1
	}
	if len(dbs) == 0 || slices.Equal(dbs, []string{"*"}) {
		dbs = slices.Sorted(maps.Keys(s.Tx))
	}
	typ := strings.ToUpper(fl["--type"])
	for _, db := range dbs {
		if slices.Contains(s.Variants.BackupSkips, db) {
			fmt.Fprintf(stderr, "Backup of database '%s' failed.\n", db)
			continue
		}
		tx, ok := s.Tx[db]
		if !ok {
			fmt.Fprintf(stderr, "Database '%s' does not exist\n", db)
			return 1
		}
		a := artifact{db: db, full: true, from: 1, to: tx, metadata: orNone(fl["--include-metadata"]), data: s.Data[db]}
		prev := h.chain(dir, db)
		switch {
		case typ == "DIFF" && len(prev) == 0:
			fmt.Fprintf(stderr, "No previous backup of '%s' in %s for a differential backup\n", db, dir)
			return 1
		case typ != "FULL" && len(prev) > 0:
			a.full, a.from = false, lastTx(prev)+1
			if a.from > tx {
				// No new transaction: an empty backup, FULL false, TX 0-0 ([S6]).
				a.from, a.to = 0, 0
			}
		}
		name := backupset.ArtifactName(db, s.Clock)
		if err := h.fs.write(path.Join(dir, name), a.encode()); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintf(stdout, "Backup of database '%s' completed: %s\n", db, name)
	}
	s.Clock = s.Clock.Add(time.Minute)
	for _, db := range dbs {
		if slices.Contains(s.Variants.BackupSkips, db) {
			return s.Variants.BackupSkipExit
		}
	}
	return 0
}

// aggregate replaces each chain by one full artifact under the name of its
// newest file, as neo4j-admin does without --keep-old-backup.
func (h *Helper) aggregate(args []string, stdout, stderr io.Writer) int {
	fl, dbs := flags(args)
	if len(dbs) > 1 {
		// aggregate takes one database name or pattern ([S5]).
		fmt.Fprintf(stderr, "Unmatched argument at index 1: '%s'\n", dbs[1])
		return 64
	}
	dir := fl["--from-path"]
	byDB := map[string][]artifact{}
	for _, a := range h.chain(dir, "") {
		if len(dbs) == 0 || slices.Contains(dbs, "*") || slices.Contains(dbs, a.db) {
			byDB[a.db] = append(byDB[a.db], a)
		}
	}
	for db, chain := range byDB {
		if len(chain) < 2 {
			continue
		}
		if code := h.eng.Server.Variants.AggregateNothingExit; code != 0 && !slices.ContainsFunc(chain[1:], func(a artifact) bool { return !a.empty() }) {
			// A full backup and empty ones after it: Neo4j's own backup job
			// expects "no aggregation needed" with a non-zero exit
			// (NEO4J-OUTPUT.md §3.1, §3.3).
			fmt.Fprintf(stdout, "No aggregation needed for database '%s'. Found existing full backup: '%s'.\n", db, path.Join(dir, chain[0].name))
			return code
		}
		// The result's name is undocumented ([S5]); like the stand-in, it
		// goes under the newest artifact that holds data, which may be a
		// file of the old chain (an empty backup came after it).
		last := chain[len(chain)-1]
		for i := len(chain) - 1; i > 0 && last.empty(); i-- {
			last = chain[i-1]
		}
		agg := artifact{db: db, full: true, from: 1, to: lastTx(chain), metadata: last.metadata, data: last.data}
		name := last.name
		switch h.eng.Server.Variants.Aggregate {
		case AggregateNewName, AggregateKeepOld:
			// The time of aggregation: after every artifact of the run.
			name = backupset.ArtifactName(db, h.eng.Server.Clock)
			h.eng.Server.Clock = h.eng.Server.Clock.Add(time.Minute)
		case AggregateUnparsable:
			name = UnparsableAggregateName(db)
		}
		if err := h.fs.write(path.Join(dir, name), agg.encode()); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		for _, a := range chain {
			if a.name != name && h.eng.Server.Variants.Aggregate != AggregateKeepOld {
				_ = h.fs.remove(path.Join(dir, a.name))
			}
		}
		if h.eng.Server.Variants.AggregateSilent {
			continue
		}
		fmt.Fprintf(stdout, "Successfully aggregated backup chain of database '%s', new artifact: '%s'.\n", db, path.Join(dir, name))
	}
	return 0
}

// inspect prints the documented table of backup inspect ([S6]), or the
// layout Server.Variants.Inspect chooses; empty backups only with --empty;
// like Neo4j 5.26, only the file column unless --show-metadata is given.
func (h *Helper) inspect(args []string, stdout, stderr io.Writer) int {
	fl, pos := flags(args)
	if len(pos) != 1 || fl["--format"] != "" {
		fmt.Fprintln(stderr, "fake inspect: want the table format and one path")
		return 2
	}
	meta := fl["--show-metadata"] == "true"
	var rows []artifact
	for _, a := range h.chain(pos[0], "") {
		if !a.empty() || fl["--empty"] == "true" {
			rows = append(rows, a)
		}
	}
	file := func(a artifact) string { return "file://" + path.Join(pos[0], a.name) }
	switch h.eng.Server.Variants.Inspect {
	case InspectJSONStrings:
		var objs []string
		for _, a := range rows {
			objs = append(objs, fmt.Sprintf(`{"FILE":%q,"DATABASE":%q,"FULL":"%t","LOWEST TX":"%d","HIGHEST TX":"%d"}`, file(a), a.db, a.full, a.from, a.to))
		}
		fmt.Fprintf(stdout, "[%s]\n", strings.Join(objs, ","))
	case InspectJSONTyped:
		var objs []string
		for _, a := range rows {
			objs = append(objs, fmt.Sprintf(`{"path":%q,"databaseName":%q,"full":%t,"lowestTxId":%d,"highestTxId":%d}`, file(a), a.db, a.full, a.from, a.to))
		}
		fmt.Fprintf(stdout, "[%s]\n", strings.Join(objs, ","))
	case InspectURIOnly:
		var objs []string
		for _, a := range rows {
			objs = append(objs, fmt.Sprintf(`{"uri":%q}`, file(a)))
		}
		fmt.Fprintf(stdout, "[%s]\n", strings.Join(objs, ","))
	case InspectNoTx:
		fmt.Fprintln(stdout, "| FILE | DATABASE | FULL |")
		for _, a := range rows {
			fmt.Fprintf(stdout, "| %s | %s | %t |\n", file(a), a.db, a.full)
		}
	case InspectUnknown:
		for _, a := range rows {
			fmt.Fprintf(stdout, "Backup: %s\n  Database: %s\n  Full: %t\n  Transactions: %d-%d\n\n", a.name, a.db, a.full, a.from, a.to)
		}
	default:
		if meta {
			fmt.Fprintln(stdout, "| FILE | DATABASE | FULL | LOWEST TX | HIGHEST TX |")
		} else {
			fmt.Fprintln(stdout, "| FILE |")
		}
		for _, a := range rows {
			if meta {
				fmt.Fprintf(stdout, "| %s | %s | %t | %d | %d |\n", file(a), a.db, a.full, a.from, a.to)
			} else {
				fmt.Fprintf(stdout, "| %s |\n", file(a))
			}
		}
	}
	return 0
}

func (a artifact) empty() bool { return !a.full && a.from == 0 && a.to == 0 }

// lastTx is the highest transaction of a chain, empty backups aside.
func lastTx(chain []artifact) int64 {
	var tx int64
	for _, a := range chain {
		tx = max(tx, a.to)
	}
	return tx
}

// restore loads the chain ending at --from-path into the database and
// writes its metadata script.
func (h *Helper) restore(args []string, stdout, stderr io.Writer) int {
	fl, pos := flags(args)
	s := h.eng.Server
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "fake restore: want one database")
		return 2
	}
	db, from := pos[0], fl["--from-path"]
	if _, isDir, _ := h.fs.stat("/data"); !isDir {
		fmt.Fprintln(stderr, "fake restore: no /data in the helper")
		return 1
	}
	// Since 5.24 restore makes its temporary directory inside the
	// --from-path folder unless --temp-path is given [S3]; the user it runs
	// as cannot write there: like the stand-in, refuse without one.
	if tmp := fl["--temp-path"]; tmp == "" {
		fmt.Fprintf(stderr, "java.nio.file.AccessDeniedException: %s/.neo4j-admin-temp\n", path.Dir(from))
		return 1
	} else if _, isDir, _ := h.fs.stat(tmp); !isDir {
		fmt.Fprintf(stderr, "Temporary path %s does not exist\n", tmp)
		return 1
	}
	if _, exists := s.Tx[db]; exists && fl["--overwrite-destination"] != "true" {
		fmt.Fprintf(stderr, "Database with name [%s] already exists.\n", db)
		return 1
	}
	data, err := h.fs.read(from)
	a, ok := decode(path.Base(from), data)
	if err != nil || !ok || a.db != db {
		fmt.Fprintf(stderr, "The provided source path %s is not a backup of %s.\n", from, db)
		return 1
	}
	if !completeChain(h.chain(path.Dir(from), db), a.name) {
		fmt.Fprintf(stderr, "Backup chain ending at %s is incomplete.\n", from)
		return 1
	}
	s.Tx[db], s.Data[db] = a.to, a.data
	if a.metadata != "none" {
		h.fs.mkdirAll("/data/scripts/" + db)
		_ = h.fs.write("/data/scripts/"+db+"/restore_metadata.cypher", []byte(MetadataScript))
	}
	fmt.Fprintf(stdout, "Restore of database '%s' from %s completed.\n", db, from)
	return 0
}

// completeChain reports whether the artifact named last has a full backup
// before it and no gap in transactions.
func completeChain(chain []artifact, last string) bool {
	i := slices.IndexFunc(chain, func(a artifact) bool { return a.name == last })
	if i < 0 {
		return false
	}
	for ; i > 0 && !chain[i].full; i-- {
		if chain[i-1].to+1 != chain[i].from {
			return false
		}
	}
	return chain[i].full
}

// flags splits --name=value (or bare --name, "true") from positional args.
func flags(args []string) (map[string]string, []string) {
	fl := map[string]string{}
	var pos []string
	for _, a := range args {
		if !strings.HasPrefix(a, "--") {
			pos = append(pos, a)
			continue
		}
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			v = "true"
		}
		fl[k] = v
	}
	return fl, pos
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

func (h *Helper) isStopped() bool {
	h.eng.mu.Lock()
	defer h.eng.mu.Unlock()
	return h.stopped
}
