package cli

import (
	"bytes"
	"testing"

	"gotest.tools/v3/assert"
)

func TestJSONListsAreNeverNull(t *testing.T) {
	type inner struct {
		Names []string `json:"names"`
	}
	type doc struct {
		Files    []string `json:"files"`
		Optional []string `json:"optional,omitempty"`
		Inner    *inner   `json:"inner"`
		Embedded *inner   `json:"embedded,omitempty"`
		Items    []inner  `json:"items"`
	}
	var buf bytes.Buffer
	assert.NilError(t, printJSON(&buf, &doc{Inner: &inner{}, Items: []inner{{}}}))
	assert.Equal(t, buf.String(), `{
  "files": [],
  "inner": {
    "names": []
  },
  "items": [
    {
      "names": []
    }
  ]
}
`)
}
