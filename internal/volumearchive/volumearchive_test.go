package volumearchive

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
)

func archive(t *testing.T, hdrs ...*tar.Header) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, h := range hdrs {
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(h.Linkname))
			content := h.Linkname
			h.Linkname = ""
			assert.NilError(t, tw.WriteHeader(h))
			_, err := tw.Write([]byte(content))
			assert.NilError(t, err)
			continue
		}
		assert.NilError(t, tw.WriteHeader(h))
	}
	assert.NilError(t, tw.Close())
	return b.Bytes()
}

func names(t *testing.T, data []byte) []string {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(data))
	var out []string
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		out = append(out, h.Name)
	}
	return out
}

func dir(name string) *tar.Header { return &tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755} }
func file(name, content string) *tar.Header {
	return &tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o640, Linkname: content}
}

// The Docker API names the root "./" for "/storage/." and "storage/" for
// "/storage": both become "./".
func TestCopyNormalisesTheRoot(t *testing.T) {
	for _, root := range []string{"./", "storage/"} {
		prefix := root
		if root == "./" {
			prefix = "./"
		}
		in := archive(t, dir(root), dir(prefix+"a/"), file(prefix+"a/f.txt", "hello"))
		var out bytes.Buffer
		st, err := Copy(&out, bytes.NewReader(in))
		assert.NilError(t, err)
		assert.Check(t, is.DeepEqual(names(t, out.Bytes()), []string{"./", "./a/", "./a/f.txt"}))
		assert.Check(t, is.Equal(st.Files, 1))
		assert.Check(t, is.Equal(st.Bytes, int64(5)))
	}
}

func TestCheckRefusesPathsOutOfTheVolume(t *testing.T) {
	cases := map[string]*tar.Header{
		"dot-dot":           file("./../evil", "x"),
		"nested dot-dot":    file("./a/../../evil", "x"),
		"absolute link":     {Name: "./l", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"},
		"relative link out": {Name: "./a/l", Typeflag: tar.TypeSymlink, Linkname: "../../x"},
		"hard link out":     {Name: "./h", Typeflag: tar.TypeLink, Linkname: "../x"},
		"device":            {Name: "./dev", Typeflag: tar.TypeChar},
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Check(bytes.NewReader(archive(t, dir("./"), h)))
			var unsafe *UnsafeEntryError
			assert.Check(t, errors.As(err, &unsafe), "%v", err)
		})
	}
	// Links inside are fine.
	_, err := Check(bytes.NewReader(archive(t, dir("./"), dir("./a/"), file("./a/f", "x"),
		&tar.Header{Name: "./a/l", Typeflag: tar.TypeSymlink, Linkname: "f"},
		&tar.Header{Name: "./l2", Typeflag: tar.TypeSymlink, Linkname: "a/../a/f"},
		&tar.Header{Name: "./h", Typeflag: tar.TypeLink, Linkname: "a/f"})))
	assert.NilError(t, err)
}

func TestCheckRefusesArchivesWithoutRoot(t *testing.T) {
	_, err := Check(bytes.NewReader(archive(t, file("f", "x"))))
	assert.Check(t, is.ErrorContains(err, "root directory"))
	_, err = Check(bytes.NewReader(archive(t)))
	assert.Check(t, is.ErrorContains(err, "empty archive"))
}

func TestFind(t *testing.T) {
	vol := docker.Mount{Type: docker.MountVolume, Name: "p_storage_data", Destination: DefaultPath, RW: true}
	server := &docker.Container{Name: "p-infrahub-server-1", Env: []string{"INFRAHUB_STORAGE_DRIVER=local"}, Mounts: []docker.Mount{vol}}
	s, skip := Find(server, "neo4j:5")
	assert.Check(t, is.Equal(skip, ""))
	assert.Check(t, is.Equal(s.Mount.Name, "p_storage_data"))
	assert.Check(t, is.Equal(s.Name(), "volume p_storage_data"))

	_, skip = Find(nil, "neo4j:5")
	assert.Check(t, is.Contains(skip, "no infrahub-server"))

	s3 := &docker.Container{Name: "srv", Env: []string{"INFRAHUB_STORAGE_DRIVER=s3", "AWS_S3_BUCKET_NAME=infrahub-storage"}, Mounts: []docker.Mount{vol}}
	_, skip = Find(s3, "neo4j:5")
	assert.Check(t, is.Contains(skip, `s3 storage driver (bucket "infrahub-storage")`))

	moved := &docker.Container{Name: "srv", Env: []string{"INFRAHUB_STORAGE_LOCAL_PATH=/data/storage"}, Mounts: []docker.Mount{vol}}
	_, skip = Find(moved, "neo4j:5")
	assert.Check(t, is.Contains(skip, "no volume or bind mount at its storage path /data/storage"))
}

// Links that stay inside one by one can lead out together, or carry writes
// elsewhere: refused.
func TestCheckRefusesLinksCombined(t *testing.T) {
	link := func(name, target string) *tar.Header {
		return &tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target}
	}
	cases := map[string][]*tar.Header{
		// s -> . makes s/.. the directory above the storage.
		"a link through a link":       {link("./s", "."), link("./t", "s/..")},
		"declared before its way out": {link("./t", "s/.."), link("./s", ".")},
		"nested":                      {dir("./a/"), link("./a/up", ".."), link("./out", "a/up/x")},
		// l -> a, then l/f is written into a (or wherever l leads).
		"a file through a link": {dir("./a/"), link("./l", "a"), file("./l/f", "x")},
		"a dir through a link":  {link("./l", "."), dir("./l/d/")},
		// A hard link to a link is a copy of it elsewhere: ../x from a/b
		// is a/x, from the root it is outside.
		"a hard link to a link":      {dir("./a/"), dir("./a/b/"), link("./a/b/t", "../x"), {Name: "./h", Typeflag: tar.TypeLink, Linkname: "./a/b/t"}},
		"a hard link through a link": {dir("./a/"), file("./a/f", "x"), link("./l", "a"), {Name: "./h", Typeflag: tar.TypeLink, Linkname: "./l/f"}},
	}
	for name, hdrs := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Check(bytes.NewReader(archive(t, append([]*tar.Header{dir("./")}, hdrs...)...)))
			var unsafe *UnsafeEntryError
			assert.Check(t, errors.As(err, &unsafe), "%v", err)
		})
	}
	// Links to links, links up and down without another link on the way,
	// and a link replaced by a directory are fine.
	_, err := Check(bytes.NewReader(archive(t, dir("./"), dir("./a/"), dir("./a/b/"), file("./a/f", "x"),
		link("./l1", "l2"), link("./l2", "a/f"),
		link("./a/b/up", "../f"), link("./a/b/round", "../../a/./b/../f"),
		link("./d", "a"), dir("./d/"), file("./d/g", "y"))))
	assert.NilError(t, err)
}

// The guardian's copy of a safety archive is the stream Restore extracts
// into "/": its root is "storage/", and its size is exact.
func TestPutBackCopyIsWhatTheExtractionTakes(t *testing.T) {
	safety := filepath.Join(t.TempDir(), "storage.tar")
	assert.NilError(t, os.WriteFile(safety, archive(t, dir("./"), dir("./a/"), file("./a/f.txt", "hello")), 0o600))
	p, err := PutBackCopy(safety)
	assert.NilError(t, err)
	rc, err := p.Open()
	assert.NilError(t, err)
	got, err := io.ReadAll(rc)
	assert.NilError(t, err)
	assert.NilError(t, rc.Close())
	assert.Check(t, is.Equal(int64(len(got)), p.Size))
	assert.Check(t, is.DeepEqual(names(t, got), []string{"storage/", "storage/a/", "storage/a/f.txt"}))

	_, err = PutBackCopy(filepath.Join(t.TempDir(), "missing.tar"))
	assert.Check(t, is.ErrorContains(err, "missing.tar"))
}

// archiveHelper serves one archive through CopyFrom and records whether
// its stream was closed.
type archiveHelper struct {
	data   []byte
	closed bool
}

func (h *archiveHelper) Name() string { return "infrahubdb-backup-storage-test" }
func (h *archiveHelper) Exec(context.Context, docker.ExecSpec) (int, error) {
	return 0, errors.New("not a running helper")
}
func (h *archiveHelper) CopyTo(context.Context, string, io.Reader) error {
	return errors.New("read only")
}
func (h *archiveHelper) Remove(context.Context) error { return nil }
func (h *archiveHelper) CopyFrom(context.Context, string) (io.ReadCloser, error) {
	return &closeRecorder{Reader: bytes.NewReader(h.data), closed: &h.closed}, nil
}

type closeRecorder struct {
	io.Reader
	closed *bool
}

func (c *closeRecorder) Close() error { *c.closed = true; return nil }

// Take calls read once the archive came whole from the helper, with its
// stream closed, and before the file has its name: the backup removes the
// helper meanwhile (the removal overlaps the file's sync).
func TestTakeSaysWhenTheArchiveWasRead(t *testing.T) {
	folder, err := backupset.Create(t.TempDir())
	assert.NilError(t, err)
	h := &archiveHelper{data: archive(t, dir("./"), file("./a", "alpha"))}
	s := Storage{Server: docker.Container{Name: "infrahub-server"}, Path: "/opt/infrahub/storage"}
	const name = "storage-20261207T170000Z.tar"
	calls := 0
	rec, err := Take(t.Context(), h, folder, s, name, func() {
		calls++
		assert.Check(t, h.closed, "the archive's stream is closed first")
		_, err := os.Stat(folder.Path(name))
		assert.Check(t, errors.Is(err, os.ErrNotExist), "the file has no name yet: %v", err)
	})
	assert.NilError(t, err)
	assert.Check(t, is.Equal(calls, 1))
	assert.Check(t, is.Equal(rec.Name, name))
	got, err := os.ReadFile(folder.Path(name))
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(names(t, got), []string{"./", "./a"}))

	// Without read, the same file.
	rec2, err := Take(t.Context(), h, folder, s, "storage-20261207T170001Z.tar", nil)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(rec2.SHA256, rec.SHA256))
}
