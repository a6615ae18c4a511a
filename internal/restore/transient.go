package restore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// Infrahub's transient services: Redis (cache and locks) and RabbitMQ
// (messages between the server and its workers). What they hold describes
// the graph as it is now: cached schema and queued work refer to a graph a
// restore replaces. They are stopped with the applications, emptied, and
// started again first, as OpsMill's own tool does on every restore
// (INFRAHUB.md §4.5).
const (
	CacheService        = "cache"
	MessageQueueService = "message-queue"
)

// transientDataDir is where each transient service keeps its data: the
// VOLUME of the official redis and rabbitmq images, so a stock deployment
// has a volume there (anonymous unless the project names one).
var transientDataDir = map[string]string{
	CacheService:        "/data",
	MessageQueueService: "/var/lib/rabbitmq",
}

// withTransient adds the transient services to the application services a
// restore stops.
func withTransient(services []string) []string {
	out := slices.Clone(services)
	for _, s := range []string{CacheService, MessageQueueService} {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// transientMountPoint is where the emptying helper mounts a transient
// service's data.
const transientMountPoint = "/transient"

// emptyTransient empties the data of the transient containers among
// stopped (stopped by this restore, so nothing writes to them), side by
// side (emptyOne).
func emptyTransient(ctx context.Context, eng helper.Engine, image string, stopped []docker.Container, pw progress.Writer) error {
	errs := make([]error, len(stopped))
	var wg sync.WaitGroup
	for i, c := range stopped {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = emptyOne(ctx, eng, image, c, pw)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// emptyOne empties the data of c if it is a transient container, through a
// helper from image that mounts its data volume; c must be stopped. A
// transient container with no volume or bind mount at its data path keeps
// it in its own layer, which a stopped container does not let anyone
// change: that is said, not failed, since a restart of Redis or RabbitMQ
// without their files is what a restore wants and the operator can
// recreate the container.
func emptyOne(ctx context.Context, eng helper.Engine, image string, c docker.Container, pw progress.Writer) error {
	dir, ok := transientDataDir[c.ComposeService]
	if !ok {
		return nil
	}
	m, ok := c.MountAt(dir)
	if !ok {
		pw.Info(fmt.Sprintf("%s keeps %s in its own layer (no volume): not emptied; recreate it with 'docker compose up -d --force-recreate %s' to empty it", c.Name, dir, c.ComposeService))
		return nil
	}
	m.Destination, m.RW = transientMountPoint, true
	key := m.Name
	if key == "" {
		key = m.Source
	}
	step := progress.Event{ID: "empty " + c.Name, Text: fmt.Sprintf("Empty %s of %s (%s)", dir, c.Name, c.ComposeService)}
	if err := progress.Run(pw, step, func() error {
		h, err := eng.StartHelper(ctx, docker.HelperSpec{
			Name:      docker.HelperName("restore-" + c.ComposeService),
			Image:     image,
			Labels:    docker.HelperLabels("restore", c.ComposeService+":"+key, time.Now()),
			NoNetwork: true,
			Mounts:    []docker.Mount{m},
			User:      "0",
		})
		if err != nil {
			return err
		}
		defer h.Remove(context.WithoutCancel(ctx))
		code, err := h.Exec(ctx, docker.ExecSpec{Cmd: []string{"find", transientMountPoint, "-mindepth", "1", "-delete"}})
		if err == nil && code != 0 {
			err = fmt.Errorf("find -delete exited with code %d", code)
		}
		return err
	}); err != nil {
		return fmt.Errorf("empty the data of %s: %w; nothing was restored", c.Name, err)
	}
	return nil
}

// Transient names the transient containers the restore stops and empties
// (the cache and the message queue), in the plan's order.
func (p *Plan) Transient() []string {
	var names []string
	for _, c := range p.Apps {
		if _, ok := transientDataDir[c.ComposeService]; ok {
			names = append(names, c.Name)
		}
	}
	return names
}
