package progress

import (
	"bytes"
	"encoding/json"
	"time"
)

// jsonWriter prints one JSON object per line: step states, and {"log":...}
// and {"info":...} lines. Byte progress of a working step is printed at most
// once a second, so a multi-GiB download does not flood a log. A run that
// fails ends with an {"error":...} line (ErrorLine). These shapes are
// documented in docs/output.md (with a JSON schema) and kept stable for scripts.
type jsonWriter struct {
	lineOutput
	steps *steps
	last  map[string]time.Time // last printed Working update per step
}

type jsonEvent struct {
	Time       time.Time `json:"time"`
	ID         string    `json:"id,omitempty"`
	Parent     string    `json:"parent,omitempty"`
	Text       string    `json:"text,omitempty"`
	Status     *Status   `json:"status,omitempty"`
	Detail     string    `json:"detail,omitempty"`
	Current    int64     `json:"current,omitempty"`
	Total      int64     `json:"total,omitempty"`
	DurationMS *int64    `json:"duration_ms,omitempty"`
	Log        *string   `json:"log,omitempty"`
	Info       *string   `json:"info,omitempty"`
	Error      *string   `json:"error,omitempty"`
	ExitCode   *int      `json:"exit_code,omitempty"`
}

// jsonProgressInterval limits how often Working updates are printed.
const jsonProgressInterval = time.Second

func (j *jsonWriter) Event(e Event) {
	j.mu.Lock()
	defer j.mu.Unlock()
	prevDetail := ""
	if s := j.steps.get(e.ID); s != nil {
		prevDetail = s.ev.Detail
	}
	s, changed := j.steps.update(e)
	now := j.steps.now()
	if !changed && s.ev.Detail == prevDetail && now.Sub(j.last[e.ID]) < jsonProgressInterval {
		return
	}
	if j.last == nil {
		j.last = map[string]time.Time{}
	}
	j.last[e.ID] = now
	status := s.ev.Status
	out := jsonEvent{Time: now.UTC(), ID: e.ID, Parent: s.ev.ParentID, Text: s.ev.Text, Status: &status,
		Detail: s.ev.Detail, Current: s.ev.Current, Total: s.ev.Total}
	if status.terminal() && !s.started.IsZero() {
		ms := s.duration(s.ended).Milliseconds()
		out.DurationMS = &ms
	}
	j.write(out)
}

func (j *jsonWriter) Log(id, line string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.write(jsonEvent{Time: j.steps.now().UTC(), ID: id, Log: &line})
}

func (j *jsonWriter) Info(msg string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.write(jsonEvent{Time: j.steps.now().UTC(), Info: &msg})
}

func (j *jsonWriter) write(v jsonEvent) { j.out.Write(encodeLine(v)) }

// ErrorLine is the line that ends a run that failed under --progress json,
// in place of the "Error: ..." text line (as docker compose does in its
// json mode): {"time":...,"error":"<message>","exit_code":N}, without a
// newline.
func ErrorLine(msg string, exitCode int) string {
	return string(bytes.TrimSuffix(encodeLine(jsonEvent{Time: time.Now().UTC(), Error: &msg, ExitCode: &exitCode}), []byte("\n")))
}

// encodeLine encodes v as one line. Messages are left readable: "<" and
// "&" (in "neo4j:<version>-enterprise") are not escaped as for HTML.
func encodeLine(v jsonEvent) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // cannot fail for this struct
	return b.Bytes()
}
