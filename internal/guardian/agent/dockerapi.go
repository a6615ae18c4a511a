package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// dockerAPI is the few Engine API calls the guardian makes, over the
// daemon's unix socket. Paths carry no API version: the daemon serves its
// own, and the fields read here have not changed since API 1.24.
type dockerAPI struct {
	http *http.Client
}

func newDockerAPI(socket string) *dockerAPI {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
	}
	return &dockerAPI{http: &http.Client{Transport: tr}}
}

func (d *dockerAPI) do(ctx context.Context, method, path string, query url.Values, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	u := "http://docker" + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := d.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 && res.StatusCode != http.StatusNotModified {
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		return fmt.Errorf("%s %s: %s: %s", method, path, res.Status, bytes.TrimSpace(msg))
	}
	if out != nil {
		return json.NewDecoder(res.Body).Decode(out)
	}
	return nil
}

// containerState is the part of an inspect the guardian reads.
type containerState struct {
	ID    string `json:"Id"`
	Name  string
	State struct {
		Running bool
		Health  *struct{ Status string }
	}
	Config  struct{ Labels map[string]string }
	ExecIDs []string
}

func (d *dockerAPI) inspect(ctx context.Context, id string) (containerState, error) {
	var c containerState
	err := d.do(ctx, http.MethodGet, "/containers/"+url.PathEscape(id)+"/json", nil, nil, &c)
	return c, err
}

func (d *dockerAPI) stop(ctx context.Context, id string, timeout time.Duration) error {
	q := url.Values{"t": {strconv.Itoa(int(timeout.Round(time.Second) / time.Second))}}
	return d.do(ctx, http.MethodPost, "/containers/"+url.PathEscape(id)+"/stop", q, nil, nil)
}

func (d *dockerAPI) start(ctx context.Context, id string) error {
	return d.do(ctx, http.MethodPost, "/containers/"+url.PathEscape(id)+"/start", nil, nil, nil)
}

// listIDs returns the IDs of the running containers carrying every label
// (key=value).
func (d *dockerAPI) listIDs(ctx context.Context, labels ...string) ([]string, error) {
	f, _ := json.Marshal(map[string][]string{"label": labels})
	var items []struct {
		ID    string `json:"Id"`
		Names []string
	}
	if err := d.do(ctx, http.MethodGet, "/containers/json", url.Values{"filters": {string(f)}}, nil, &items); err != nil {
		return nil, err
	}
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	return ids, nil
}

func (d *dockerAPI) createVolume(ctx context.Context, name string, labels map[string]string) error {
	return d.do(ctx, http.MethodPost, "/volumes/create", nil, map[string]any{"Name": name, "Labels": labels}, nil)
}

// putArchive extracts the tar stream r into dir in a container (PUT
// /containers/{id}/archive), streamed: the archive may be many GiB.
func (d *dockerAPI) putArchive(ctx context.Context, container, dir string, r io.Reader) error {
	p := "/containers/" + url.PathEscape(container) + "/archive"
	q := url.Values{"path": {dir}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, "http://docker"+p+"?"+q.Encode(), r)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-tar")
	res, err := d.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		return fmt.Errorf("%s %s: %s: %s", http.MethodPut, p, res.Status, bytes.TrimSpace(msg))
	}
	_, _ = io.Copy(io.Discard, res.Body)
	return nil
}

// execState reports whether an exec still runs, its exit code and its
// program.
func (d *dockerAPI) execState(ctx context.Context, id string) (running bool, code int, program string, err error) {
	var e struct {
		Running       bool
		ExitCode      int
		ProcessConfig struct {
			Entrypoint string `json:"entrypoint"`
		}
	}
	err = d.do(ctx, http.MethodGet, "/exec/"+url.PathEscape(id)+"/json", nil, nil, &e)
	return e.Running, e.ExitCode, e.ProcessConfig.Entrypoint, err
}

// execRun runs cmd in a running container as user, waits for its end and
// returns its exit code and the tail of its output.
func (d *dockerAPI) execRun(ctx context.Context, container string, c Command) (int, string, error) {
	var created struct {
		ID string `json:"Id"`
	}
	body := map[string]any{"Cmd": c.Cmd, "User": c.User, "Env": c.Env, "AttachStdout": true, "AttachStderr": true}
	if err := d.do(ctx, http.MethodPost, "/containers/"+url.PathEscape(container)+"/exec", nil, body, &created); err != nil {
		return -1, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://docker/exec/"+url.PathEscape(created.ID)+"/start", strings.NewReader(`{"Detach":false,"Tty":false}`))
	if err != nil {
		return -1, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := d.http.Do(req)
	if err != nil {
		return -1, "", err
	}
	out := demuxTail(res.Body, 2048)
	res.Body.Close()
	for {
		running, code, _, err := d.execState(ctx, created.ID)
		if err != nil || !running {
			return code, out, err
		}
		select {
		case <-ctx.Done():
			return -1, out, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// demuxTail reads Docker's multiplexed stream (8-byte frame headers) to
// its end and keeps the last max bytes of its payload.
func demuxTail(r io.Reader, max int) string {
	var tail []byte
	hdr := make([]byte, 8)
	for {
		if _, err := io.ReadFull(r, hdr); err != nil {
			break
		}
		n := int(hdr[4])<<24 | int(hdr[5])<<16 | int(hdr[6])<<8 | int(hdr[7])
		buf := make([]byte, n)
		if _, err := io.ReadFull(r, buf); err != nil {
			break
		}
		tail = append(tail, buf...)
		if len(tail) > max {
			tail = tail[len(tail)-max:]
		}
	}
	return strings.TrimSpace(string(tail))
}
