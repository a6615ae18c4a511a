package volumearchive

import (
	"fmt"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
)

// DefaultPath is infrahub-server's storage path when
// INFRAHUB_STORAGE_LOCAL_PATH is not set (INFRAHUB.md §1).
const DefaultPath = "/opt/infrahub/storage"

// Find locates the object storage of infrahub-server. skip is non-empty
// when the deployment has no local storage to archive: no server, the s3
// driver, or nothing mounted at the storage path.
func Find(server *docker.Container, helperImage string) (s Storage, skip string) {
	if server == nil {
		return Storage{}, "the Compose project has no infrahub-server service"
	}
	if driver, _ := server.EnvValue("INFRAHUB_STORAGE_DRIVER"); driver != "" && driver != "local" {
		bucket, _ := server.EnvValue("AWS_S3_BUCKET_NAME")
		if bucket == "" {
			bucket, _ = server.EnvValue("INFRAHUB_STORAGE_BUCKET_NAME")
		}
		return Storage{}, fmt.Sprintf("%s uses the %s storage driver (bucket %q): back the bucket up with your object store's own tools", server.Name, driver, bucket)
	}
	p, _ := server.EnvValue("INFRAHUB_STORAGE_LOCAL_PATH")
	if p == "" {
		p = DefaultPath
	}
	m, ok := server.MountAt(p)
	if !ok {
		return Storage{}, fmt.Sprintf("%s has no volume or bind mount at its storage path %s (its files live in the container and die with it): mount a volume there", server.Name, p)
	}
	return Storage{Server: *server, Path: p, Mount: m, Image: helperImage}, ""
}
