package neo4j

import (
	"strconv"
	"strings"
)

// Release is a Neo4j version as neo4j-admin --version prints it: 5.26.0,
// or a calendar release such as 2025.10.1.
type Release struct {
	Major, Minor, Patch int
	Known               bool
}

// ParseRelease reads "5.26.0", "2025.10.1", "2025.10.1-enterprise" or a
// line ending in such a version; an unreadable one is not Known.
func ParseRelease(v string) Release {
	fields := strings.Fields(strings.TrimSpace(v))
	if len(fields) == 0 {
		return Release{}
	}
	v = fields[len(fields)-1]
	if i := strings.IndexAny(v, "-+"); i >= 0 {
		v = v[:i]
	}
	parts := strings.Split(v, ".")
	if len(parts) < 2 {
		return Release{}
	}
	var n [3]int
	for i := 0; i < len(parts) && i < 3; i++ {
		x, err := strconv.Atoi(parts[i])
		if err != nil {
			return Release{}
		}
		n[i] = x
	}
	return Release{Major: n[0], Minor: n[1], Patch: n[2], Known: true}
}

// AtLeast reports whether r is the release major.minor or later. An
// unknown release is taken to be the newest.
func (r Release) AtLeast(major, minor int) bool {
	if !r.Known {
		return true
	}
	return r.Major > major || r.Major == major && r.Minor >= minor
}

// Less orders releases; unknown ones sort last.
func (r Release) Less(o Release) bool {
	switch {
	case !r.Known || !o.Known:
		return r.Known && !o.Known
	case r.Major != o.Major:
		return r.Major < o.Major
	case r.Minor != o.Minor:
		return r.Minor < o.Minor
	}
	return r.Patch < o.Patch
}

func (r Release) String() string {
	if !r.Known {
		return "unknown"
	}
	return strconv.Itoa(r.Major) + "." + strconv.Itoa(r.Minor) + "." + strconv.Itoa(r.Patch)
}

// Calendar reports a calendar release (2025.01 and later), which renamed
// and changed several neo4j-admin commands.
func (r Release) Calendar() bool { return r.Known && r.Major >= 2025 }
