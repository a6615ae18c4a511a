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
	Config struct{ Labels map[string]string }
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
