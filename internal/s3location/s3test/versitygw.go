// Package s3test runs a real S3 server for tests: versitygw v1.8.0
// (Apache-2.0) with its posix backend, on 127.0.0.1 only, one process per
// test package on a free port. No fake: gofakes3 stores minio-go's multipart
// parts with their signature framing and ignores conditions on completion.
//
// The binary is found in $INFRAHUBDB_VERSITYGW, on PATH, in $(go env
// GOPATH)/bin or in ~/.cache/infrahubdb-tools/versitygw-v1.8.0 (where .ci/run
// installs it with `go install github.com/versity/versitygw/cmd/versitygw@v1.8.0`).
package s3test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Version is the versitygw release the tests are written against.
const Version = "v1.8.0"

// Credentials of the server's root account (test only, loopback only).
const (
	AccessKey = "infrahubdb-test"
	SecretKey = "infrahubdb-test-secret-0123456789"
)

// Server is a running versitygw.
type Server struct {
	Endpoint string // http://127.0.0.1:PORT, or https:// with TLS
	DataDir  string // objects are plain files under DataDir/BUCKET/KEY
	// CAFile is the PEM certificate clients must trust (TLS only).
	CAFile string
	cmd    *exec.Cmd
	done   chan struct{}
}

// Binary finds the versitygw binary.
func Binary() (string, error) {
	if p := os.Getenv("INFRAHUBDB_VERSITYGW"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	var dirs []string
	if gp := os.Getenv("GOPATH"); gp != "" {
		dirs = append(dirs, filepath.Join(gp, "bin"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, ".cache", "infrahubdb-tools", "versitygw-"+Version), filepath.Join(home, "go", "bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "versitygw")
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("versitygw not found; install it with `GOBIN=~/.cache/infrahubdb-tools/versitygw-%[1]s go install github.com/versity/versitygw/cmd/versitygw@%[1]s` or set INFRAHUBDB_VERSITYGW", Version)
}

// Start runs versitygw over plain HTTP with its data under dir until Stop.
// Over HTTP minio-go signs every chunk (aws-chunked streaming signature).
func Start(dir string) (*Server, error) { return start(dir, false) }

// StartTLS runs it over HTTPS with a self-signed certificate for 127.0.0.1
// (Server.CAFile): the path production takes, where minio-go sends
// UNSIGNED-PAYLOAD instead of the streaming signature.
func StartTLS(dir string) (*Server, error) { return start(dir, true) }

func start(dir string, withTLS bool) (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	data, vers := filepath.Join(dir, "data"), filepath.Join(dir, "versions")
	for _, d := range []string{data, vers} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	for attempt := 0; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s := &Server{Endpoint: "http://" + port, DataDir: data, done: make(chan struct{})}
		args := []string{"--port", port, "--quiet"}
		if withTLS {
			cert, key, err := selfSigned(dir)
			if err != nil {
				return nil, err
			}
			s.Endpoint, s.CAFile = "https://"+port, cert
			args = append(args, "--cert", cert, "--key", key)
		}
		s.cmd = exec.Command(bin, append(args, "posix", "--versioning-dir", vers, data)...)
		s.cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+AccessKey, "ROOT_SECRET_KEY="+SecretKey)
		var stderr strings.Builder
		s.cmd.Stderr = &stderr
		if err := s.cmd.Start(); err != nil {
			return nil, fmt.Errorf("start versitygw: %w", err)
		}
		go func() { s.cmd.Wait(); close(s.done) }()
		if err := s.waitReady(); err == nil {
			return s, nil
		} else if attempt >= 2 {
			s.Stop()
			return nil, fmt.Errorf("versitygw did not start: %v: %s", err, stderr.String())
		}
		s.Stop() // the port was taken meanwhile: try another
	}
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func (s *Server) waitReady() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		select {
		case <-s.done:
			return errors.New("exited")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		// Readiness only: any TLS answer will do.
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
		resp, err := c.Get(s.Endpoint + "/")
		if err == nil {
			resp.Body.Close()
			return nil // any HTTP answer (403 without a signature) means it listens
		}
	}
}

// Stop kills the server (by its own pid) and waits for it.
func (s *Server) Stop() {
	if s.cmd.Process != nil {
		s.cmd.Process.Kill()
	}
	<-s.done
}

// Env is the environment a client needs to reach the server through the
// standard credential chain.
func (s *Server) Env() map[string]string {
	return map[string]string{
		"AWS_ACCESS_KEY_ID":     AccessKey,
		"AWS_SECRET_ACCESS_KEY": SecretKey,
		"AWS_ENDPOINT_URL_S3":   s.Endpoint,
		"AWS_REGION":            "us-east-1",
	}
}

// MakeBucket creates a bucket with a random name and returns it.
func (s *Server) MakeBucket(prefix string) (string, error) {
	var b [4]byte
	rand.Read(b[:])
	name := prefix + "-" + hex.EncodeToString(b[:])
	tr, err := minio.DefaultTransport(s.CAFile != "")
	if err != nil {
		return "", err
	}
	if s.CAFile != "" {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // test setup only
	}
	host := strings.TrimPrefix(strings.TrimPrefix(s.Endpoint, "http://"), "https://")
	c, err := minio.New(host, &minio.Options{
		Creds: credentials.NewStaticV4(AccessKey, SecretKey, ""), Region: "us-east-1", BucketLookup: minio.BucketLookupPath,
		Secure: s.CAFile != "", Transport: tr,
	})
	if err != nil {
		return "", err
	}
	return name, c.MakeBucket(context.Background(), name, minio.MakeBucketOptions{Region: "us-east-1"})
}

// sharedServer is one server per test binary, started on first use.
type sharedServer struct {
	once sync.Once
	srv  *Server
	err  error
	tls  bool
}

var plainServer, tlsServer = &sharedServer{}, &sharedServer{tls: true}

func (ss *sharedServer) get(t testing.TB) *Server {
	t.Helper()
	ss.once.Do(func() {
		dir, err := os.MkdirTemp("", "infrahubdb-versitygw-")
		if err != nil {
			ss.err = err
			return
		}
		ss.srv, ss.err = start(dir, ss.tls)
	})
	if ss.err != nil {
		if os.Getenv("INFRAHUBDB_REQUIRE_S3") != "" {
			t.Fatalf("S3 test server: %v", ss.err)
		}
		t.Skipf("S3 test server unavailable (set INFRAHUBDB_REQUIRE_S3=1 to fail instead): %v", ss.err)
	}
	return ss.srv
}

// ForTest returns a server (plain HTTP) shared by the tests of the calling
// package, started on first use; TestMain should call StopShared. Without
// a versitygw binary the test is skipped, or fails when
// INFRAHUBDB_REQUIRE_S3 is set (as in .ci/run): a missing server must never
// pass silently in CI.
func ForTest(t testing.TB) *Server { return plainServer.get(t) }

// ForTestTLS is ForTest over HTTPS (see StartTLS).
func ForTestTLS(t testing.TB) *Server { return tlsServer.get(t) }

// StopShared stops the shared servers that were started, and removes their data.
func StopShared() {
	for _, ss := range []*sharedServer{plainServer, tlsServer} {
		if ss.srv != nil {
			ss.srv.Stop()
			os.RemoveAll(filepath.Dir(ss.srv.DataDir))
		}
	}
}

// selfSigned writes a certificate and key for 127.0.0.1 into dir.
func selfSigned(dir string) (certFile, keyFile string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "infrahubdb test S3"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", "", err
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return "", "", err
	}
	return certFile, keyFile, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
}
