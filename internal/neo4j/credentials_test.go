package neo4j

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestParseAuth(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  Credentials
	}{
		{value: "none", want: Credentials{None: true}},
		{value: "neo4j/admin123", want: Credentials{User: "neo4j", Password: "admin123"}},
		{value: "neo4j/pa/ss/word", want: Credentials{User: "neo4j", Password: "pa/ss/word"}},
		{value: "neo4j//leading-slash", want: Credentials{User: "neo4j", Password: "/leading-slash"}},
		{value: `neo4j/it's "quoted"`, want: Credentials{User: "neo4j", Password: `it's "quoted"`}},
		{value: "neo4j/$HOME$(id)`x`", want: Credentials{User: "neo4j", Password: "$HOME$(id)`x`"}},
		{value: "neo4j/with space ", want: Credentials{User: "neo4j", Password: "with space "}},
		{value: "admin/none", want: Credentials{User: "admin", Password: "none"}},
		// The image's "require password change" flag is not part of the password.
		{value: "neo4j/secret123/true", want: Credentials{User: "neo4j", Password: "secret123"}},
		{value: "neo4j/secret123/TRUE", want: Credentials{User: "neo4j", Password: "secret123"}},
		{value: "neo4j/a/b/true", want: Credentials{User: "neo4j", Password: "a/b/true"}},
		{value: "neo4j/secret123/false", want: Credentials{User: "neo4j", Password: "secret123/false"}},
	} {
		got, err := ParseAuth(tc.value)
		assert.NilError(t, err, tc.value)
		assert.DeepEqual(t, got, tc.want)
	}
}

func TestParseAuthMalformed(t *testing.T) {
	for _, value := range []string{"", "None", "neo4j", "neo4j/", "/s3cretValue", "s3cretValue"} {
		_, err := ParseAuth(value)
		assert.ErrorIs(t, err, ErrBadAuthValue, "%q", value)
		if value != "" {
			assert.Check(t, !strings.Contains(err.Error(), value), "error %q includes the value", err)
		}
	}
}

func TestCredentialsNeverPrintPassword(t *testing.T) {
	const password = "S3cr3t/pa$$"
	c := Credentials{User: "neo4j", Password: password}
	wrapped := struct {
		Name  string
		Creds Credentials
		Ptr   *Credentials
	}{"x", c, &c}

	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%10s", "%-v", "%d"} {
		for _, arg := range []any{c, &c, wrapped} {
			out := fmt.Sprintf(format, arg)
			assert.Check(t, !strings.Contains(out, password), "%s of %T printed the password: %s", format, arg, out)
		}
	}
	assert.Equal(t, c.String(), "neo4j/****")
	assert.Equal(t, fmt.Sprintf("%v", c), "neo4j/****")
	assert.Equal(t, fmt.Sprintf("%#v", c), `neo4j.Credentials{User:"neo4j", Password:"****", None:false}`)
	assert.Equal(t, fmt.Sprint(Credentials{None: true}), "none")

	data, err := json.Marshal(wrapped)
	assert.NilError(t, err)
	assert.Check(t, !strings.Contains(string(data), password), string(data))
	assert.Check(t, is.Contains(string(data), `"password":"****"`))
}
