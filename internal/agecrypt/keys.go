// Package agecrypt encrypts backup artifacts to the operator's own keys with
// age (filippo.io/age): recipients files (age X25519 and post-quantum keys,
// SSH public keys, plugins), identity files for restore and verify, and a
// location key wrapped once with a passphrase, so a passphrase costs one
// scrypt per command, never one per file.
//
// The run manifest stays plaintext: it records, per artifact, the SHA-256 of
// the stored ciphertext (verify without a key) and of the plaintext (checked
// after decryption, before anything reaches a database). No key, passphrase
// or secret ever appears in a message of this package.
package agecrypt

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"filippo.io/age/plugin"
	"filippo.io/age/tag"
	"golang.org/x/crypto/ssh"
)

// Limits of the age CLI: a recipients file of 16 MiB, lines of 8 KiB.
const (
	recipientsFileLimit = 16 << 20
	lineLimit           = 8 << 10
	identityFileLimit   = 1 << 20
)

// Recipients are the public keys artifacts are encrypted to.
type Recipients struct {
	List []age.Recipient
	// Public forms, for the manifest (public keys only).
	Strings []string
}

// ParseRecipient parses one recipient as the age CLI does.
func ParseRecipient(s string) (age.Recipient, error) {
	switch {
	case strings.HasPrefix(s, "age1tag1") || strings.HasPrefix(s, "age1tagpq1"):
		return tag.ParseRecipient(s)
	case strings.HasPrefix(s, "age1pq1"):
		return age.ParseHybridRecipient(s)
	case strings.HasPrefix(s, "age1") && strings.Count(s, "1") > 1:
		// A plugin (age-plugin-NAME on PATH, e.g. a YubiKey): encryption
		// needs no interaction; refuse any the plugin asks for.
		return plugin.NewRecipient(s, nonInteractiveUI)
	case strings.HasPrefix(s, "age1"):
		return age.ParseX25519Recipient(s)
	case strings.HasPrefix(s, "ssh-"):
		return agessh.ParseRecipient(s)
	}
	return nil, errors.New("unknown recipient type (expected age1…, age1pq1…, a plugin's age1NAME1… or an ssh-ed25519/ssh-rsa public key)")
}

var nonInteractiveUI = &plugin.ClientUI{
	DisplayMessage: func(name, msg string) error { return nil },
	RequestValue: func(name, prompt string, secret bool) (string, error) {
		return "", fmt.Errorf("age plugin %s asked for input, which a backup never gives", name)
	},
	Confirm: func(name, prompt, yes, no string) (bool, error) {
		return false, fmt.Errorf("age plugin %s asked for a confirmation, which a backup never gives", name)
	},
	WaitTimer: func(string) {},
}

// ReadRecipientsFile reads a recipients file: one recipient per line, "#"
// comments and empty lines ignored (the age CLI's -R format).
func ReadRecipientsFile(path string) (Recipients, error) {
	f, err := os.Open(path)
	if err != nil {
		return Recipients{}, fmt.Errorf("recipients file: %w", err)
	}
	defer f.Close()
	var out Recipients
	lr := &io.LimitedReader{R: f, N: recipientsFileLimit + 1}
	sc := bufio.NewScanner(lr)
	sc.Buffer(make([]byte, 0, 4096), lineLimit+1)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !utf8.ValidString(line) {
			return Recipients{}, fmt.Errorf("recipients file %s is not valid UTF-8", path)
		}
		if strings.HasPrefix(line, "AGE-") {
			// Never echo the line: it is a secret key.
			return Recipients{}, fmt.Errorf("recipients file %s: line %d holds a secret key, not a public one; give --encrypt-to the output of `age-keygen -y` and keep the key itself for --identity", path, n)
		}
		r, err := ParseRecipient(line)
		if err != nil {
			return Recipients{}, fmt.Errorf("recipients file %s: line %d: %v", path, n, err)
		}
		out.List = append(out.List, r)
		out.Strings = append(out.Strings, line)
	}
	if err := sc.Err(); err != nil {
		return Recipients{}, fmt.Errorf("recipients file %s: %v", path, err)
	}
	if lr.N == 0 {
		return Recipients{}, fmt.Errorf("recipients file %s is larger than 16 MiB", path)
	}
	if len(out.List) == 0 {
		return Recipients{}, fmt.Errorf("recipients file %s names no recipient", path)
	}
	return out, nil
}

// ReadIdentitiesFile reads the secret keys for decryption: an age identity
// file (AGE-SECRET-KEY-1…, AGE-SECRET-KEY-PQ-1…) or an unencrypted SSH
// private key (PEM).
func ReadIdentitiesFile(path string) ([]age.Identity, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("identity file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, identityFileLimit+1))
	if err != nil {
		return nil, fmt.Errorf("identity file %s: %v", path, err)
	}
	if len(data) > identityFileLimit {
		return nil, fmt.Errorf("identity file %s is larger than 1 MiB; it is not a key file", path)
	}
	trimmed := bytes.TrimSpace(data)
	switch {
	case bytes.HasPrefix(trimmed, []byte("-----BEGIN")):
		id, err := agessh.ParseIdentity(trimmed)
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			return nil, fmt.Errorf("identity file %s is a passphrase-protected SSH key, which cannot be unlocked without a prompt; use an age key (age-keygen) or an unencrypted copy of the SSH key readable only by you", path)
		}
		if err != nil {
			return nil, fmt.Errorf("identity file %s is not an SSH private key age can use (ed25519 or RSA)", path)
		}
		return []age.Identity{id}, nil
	case bytes.HasPrefix(trimmed, []byte("age-encryption")):
		return nil, fmt.Errorf("identity file %s is itself encrypted with age; decrypt it to a file readable only by you", path)
	}
	ids, err := age.ParseIdentities(bytes.NewReader(data))
	if err != nil {
		// age's message never includes key material.
		return nil, fmt.Errorf("identity file %s: %v", path, err)
	}
	return ids, nil
}

// ReadPassphrase returns the passphrase from file (one line; the trailing
// newline is not part of it), else from the environment variable env. It
// never prompts: backups run from cron.
func ReadPassphrase(file, env string) (string, error) {
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("passphrase file: %w", err)
		}
		p := strings.TrimRight(string(data), "\r\n")
		if p == "" {
			return "", fmt.Errorf("passphrase file %s is empty", file)
		}
		return p, nil
	}
	if p := os.Getenv(env); p != "" {
		return p, nil
	}
	return "", fmt.Errorf("no passphrase: give --passphrase-file FILE or set %s", env)
}
