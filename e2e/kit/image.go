package kit

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/icmd"
)

// ImageEnv names a real Neo4j Enterprise image to run the suite against
// instead of the stand-in (on machines that can pull one).
const ImageEnv = "INFRAHUBDB_E2E_NEO4J_IMAGE"

// CommunityImageEnv names the community image to pair with ImageEnv; by
// default it is ImageEnv's reference with "enterprise" replaced by
// "community" (neo4j:5.26.0-enterprise → neo4j:5.26.0-community).
const CommunityImageEnv = "INFRAHUBDB_E2E_NEO4J_COMMUNITY_IMAGE"

var (
	imageOnce sync.Once
	imageRef  string
	imageErr  string
)

// RealNeo4j reports whether the suite runs against a real Neo4j image.
func RealNeo4j() bool { return os.Getenv(ImageEnv) != "" }

// RequireStandIn skips a test that relies on something only the stand-in
// has (fault knobs, its private files), saying so and why.
func RequireStandIn(t testing.TB, why ...string) {
	t.Helper()
	if RealNeo4j() {
		reason := "it relies on the Neo4j stand-in"
		if len(why) > 0 {
			reason = strings.Join(why, " ")
		}
		t.Skipf("stand-in only (%s); %s=%s is a real Neo4j image", reason, ImageEnv, os.Getenv(ImageEnv))
	}
}

// Image is the Neo4j Enterprise image the suite runs: $INFRAHUBDB_E2E_NEO4J_IMAGE
// when set, else the stand-in, built once per test binary by
// e2e/standin/build-image.sh (what `make e2e-image` runs; it rebuilds only
// when its inputs changed and prints the image reference last).
func Image(t testing.TB) string {
	t.Helper()
	if ref := os.Getenv(ImageEnv); ref != "" {
		return ref
	}
	imageOnce.Do(func() { imageRef, imageErr = buildStandIn(t) })
	if imageErr != "" {
		t.Fatal(imageErr)
	}
	return imageRef
}

// CommunityImage is the matching Neo4j Community image.
func CommunityImage(t testing.TB) string {
	t.Helper()
	if ref := os.Getenv(CommunityImageEnv); ref != "" {
		return ref
	}
	ref := Image(t)
	if !strings.Contains(ref, "enterprise") {
		t.Fatalf("kit: cannot derive a community image from %q; set %s", ref, CommunityImageEnv)
	}
	return strings.Replace(ref, "enterprise", "community", 1)
}

func buildStandIn(t testing.TB) (string, string) {
	script := filepath.Join(RepoRoot(t), "e2e", "standin", "build-image.sh")
	res := icmd.RunCmd(icmd.Cmd{Command: []string{"bash", script}, Dir: RepoRoot(t), Timeout: 15 * time.Minute})
	if res.Error != nil {
		return "", "kit: building the stand-in image failed: " + res.String()
	}
	lines := strings.Split(strings.TrimSpace(res.Stdout()), "\n")
	ref := strings.TrimSpace(lines[len(lines)-1])
	if ref == "" || strings.ContainsAny(ref, " \t") {
		return "", "kit: build-image.sh did not end with an image reference: " + res.String()
	}
	return ref, ""
}

// Release is the Neo4j release the stand-in of this run follows
// ($NEO4J_VERSION, as for make e2e-image; default 5.26.0).
func Release() string {
	if v := os.Getenv("NEO4J_VERSION"); v != "" {
		return v
	}
	return "5.26.0"
}

// OlderImage is a stand-in enterprise image of a release older than
// Release(): 5.26.0 for a calendar release, 5.20.0 for a 5.x one (built
// when missing, like Image). It is "" against a real Neo4j image.
func OlderImage(t testing.TB) string {
	t.Helper()
	if RealNeo4j() {
		return ""
	}
	older := "5.20.0"
	if !strings.HasPrefix(Release(), "5.") {
		older = "5.26.0"
	}
	script := filepath.Join(RepoRoot(t), "e2e", "standin", "build-image.sh")
	cmd := icmd.Cmd{Command: []string{"bash", script}, Dir: RepoRoot(t), Timeout: 15 * time.Minute,
		Env: append(os.Environ(), "NEO4J_VERSION="+older)}
	res := icmd.RunCmd(cmd)
	if res.Error != nil {
		t.Fatal("kit: building the stand-in image of " + older + " failed: " + res.String())
	}
	lines := strings.Split(strings.TrimSpace(res.Stdout()), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
