package agecrypt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"filippo.io/age"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
)

// A passphrase is never used on artifacts directly (scrypt costs about a
// second per file). Instead, the location holds a location key, an X25519
// identity generated on first use and stored once, wrapped with scrypt:
//
//	keys/<id>.age   the secret key, encrypted to the passphrase
//	keys/<id>.pub   its public recipient, plaintext
//
// Artifacts are encrypted to the location key's recipient (plus any
// --encrypt-to recipients); one scrypt per command unlocks it. Two hosts
// creating a key at once simply make two keys; both unlock with the
// passphrase, and each artifact records which recipients it has.
const KeysPrefix = "keys/"

// scryptWorkFactor is age's default (about a second); tests lower it.
var scryptWorkFactor = 18

const keyObjectLimit = 64 << 10

// UnlockLocationKey finds the location key the passphrase opens. With
// create, a location without any key gets a new one. A location whose keys
// the passphrase does not open is an error: encrypting to a key the operator
// cannot open would make every later backup unrestorable.
func UnlockLocationKey(ctx context.Context, loc backupset.Location, passphrase string, create bool) (*age.X25519Identity, error) {
	objs, err := loc.List(ctx, KeysPrefix)
	if err != nil {
		return nil, err
	}
	scrypt, err := age.NewScryptIdentity(passphrase)
	if err != nil {
		return nil, err
	}
	tried := 0
	for _, o := range objs {
		if !strings.HasSuffix(o.Name, Ext) {
			continue
		}
		tried++
		data, err := backupset.ReadObject(ctx, loc, o.Name, keyObjectLimit)
		if err != nil {
			return nil, err
		}
		r, err := age.Decrypt(bytes.NewReader(data), scrypt)
		if err != nil {
			continue // another passphrase's key, or not a key
		}
		secret, err := io.ReadAll(io.LimitReader(r, keyObjectLimit))
		if err != nil {
			continue
		}
		id, err := age.ParseX25519Identity(strings.TrimSpace(string(secret)))
		if err != nil {
			return nil, fmt.Errorf("location key %s in %s does not hold an age key", o.Name, loc.Describe())
		}
		return id, nil
	}
	if tried > 0 {
		return nil, fmt.Errorf("the passphrase opens none of the %d location key(s) in %s (%s*%s): %w", tried, loc.Describe(), KeysPrefix, Ext, ErrNoIdentity)
	}
	if !create {
		return nil, fmt.Errorf("%s has no location key: nothing there was encrypted with a passphrase: %w", loc.Describe(), ErrNoLocationKey)
	}
	return createLocationKey(ctx, loc, passphrase)
}

func createLocationKey(ctx context.Context, loc backupset.Location, passphrase string) (*age.X25519Identity, error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, err
	}
	rcp, err := age.NewScryptRecipient(passphrase)
	if err != nil {
		return nil, err
	}
	rcp.SetWorkFactor(scryptWorkFactor)
	var wrapped bytes.Buffer
	w, err := age.Encrypt(&wrapped, rcp)
	if err != nil {
		return nil, err
	}
	io.WriteString(w, id.String()+"\n")
	if err := w.Close(); err != nil {
		return nil, err
	}
	// The name is derived from the public key: never reused, and the
	// public half can be found without the passphrase.
	pub := id.Recipient().String()
	name := KeysPrefix + "location-" + pub[len(pub)-12:]
	if _, err := backupset.WriteObject(ctx, loc, name+".pub", []byte(pub+"\n")); err != nil {
		return nil, err
	}
	if _, err := backupset.WriteObject(ctx, loc, name+Ext, wrapped.Bytes()); err != nil {
		return nil, err
	}
	return id, nil
}

// LocationRecipients returns the public recipients of the location's keys,
// read without a passphrase (keys/*.pub).
func LocationRecipients(ctx context.Context, loc backupset.Location) (Recipients, error) {
	objs, err := loc.List(ctx, KeysPrefix)
	if err != nil {
		return Recipients{}, err
	}
	var out Recipients
	for _, o := range objs {
		if path.Ext(o.Name) != ".pub" {
			continue
		}
		data, err := backupset.ReadObject(ctx, loc, o.Name, keyObjectLimit)
		if err != nil {
			return Recipients{}, err
		}
		s := strings.TrimSpace(string(data))
		r, err := age.ParseX25519Recipient(s)
		if err != nil {
			return Recipients{}, fmt.Errorf("%s in %s is not an age public key", o.Name, loc.Describe())
		}
		out.List = append(out.List, r)
		out.Strings = append(out.Strings, s)
	}
	return out, nil
}

// Join merges recipient sets (the location key's and --encrypt-to's).
func Join(sets ...Recipients) Recipients {
	var out Recipients
	for _, s := range sets {
		out.List = append(out.List, s.List...)
		out.Strings = append(out.Strings, s.Strings...)
	}
	return out
}

// ErrNoLocationKey is matched when a location has no location key at all
// (it also matches ErrNoIdentity).
var ErrNoLocationKey = fmt.Errorf("no location key: %w", ErrNoIdentity)

// ErrMixed is matched when a backup would mix encrypted and plain runs in
// one location.
var ErrMixed = errors.New("encrypted and unencrypted backups would mix in one location")

// CheckConsistent refuses an unencrypted backup into a location whose newest
// run is encrypted, and the reverse, unless allowMixed: an operator who set
// up encryption must not silently get a plaintext copy off-site, and one who
// did not must not find backups that need a key.
func CheckConsistent(runs []*backupset.RunManifest, encrypting, allowMixed bool) error {
	if allowMixed || len(runs) == 0 {
		return nil
	}
	newest := runs[len(runs)-1]
	encrypted := false
	for _, f := range newest.Files {
		if f.Encryption != nil {
			encrypted = true
		}
	}
	switch {
	case encrypted && !encrypting:
		return fmt.Errorf("the newest run in this location (%s) is encrypted and this backup would not be; give --encrypt-to or --passphrase-file as before, or --allow-mixed-encryption to store a plaintext run: %w", newest.Run.ID, ErrMixed)
	case !encrypted && encrypting:
		return fmt.Errorf("the newest run in this location (%s) is not encrypted and this backup would be; use a new location for encrypted backups, or --allow-mixed-encryption: %w", newest.Run.ID, ErrMixed)
	}
	return nil
}
