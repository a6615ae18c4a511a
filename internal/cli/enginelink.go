package cli

import (
	"context"
	"errors"
	"os"

	"github.com/docker/cli/cli/command"
	ctxdocker "github.com/docker/cli/cli/context/docker"
	"github.com/moby/moby/client"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/guardian"
)

// installEngineLink routes the API client's connections through a
// docker.Link (the process's engine link), before the client exists: a run
// that holds a deployment can then give up on an engine that stopped
// answering (watchEngine). Without a link (unit tests, a plugin reached
// through `docker system dial-stdio`, npipe:// and fd:// endpoints) the
// engine is not watched.
func installEngineLink(dockerCli command.Cli) {
	dc, ok := dockerCli.(*command.DockerCli)
	if !ok || os.Getenv("DOCKER_CLI_PLUGIN_USE_DIAL_STDIO") != "" {
		return
	}
	// The endpoint as the CLI resolves it, without creating its client
	// (which would be too late to route its connections).
	meta, err := dc.ContextStore().GetMetadata(dc.CurrentContext())
	if err != nil {
		return
	}
	ep, err := ctxdocker.EndpointFromContext(meta)
	if err != nil {
		return
	}
	inner, err := docker.EndpointDialer(ep.Host)
	if err != nil || inner == nil {
		return
	}
	link := docker.NewLink(inner, ep.Host)
	if err := command.WithAPIClientOptions(client.WithDialContext(link.Dial))(dc); err != nil {
		return
	}
	docker.SetEngineLink(link)
}

// watchEngine pings the engine while a run holds its deployment, and gives
// up on it (docker.Link.Cut: every engine call fails at once from then on)
// when nothing answered for guardian.EngineSilenceLimit. It returns the
// function that ends the watch.
func watchEngine(dockerCli command.Cli) func() {
	link := docker.EngineLink()
	if link == nil {
		return func() {}
	}
	api := dockerCli.Client()
	ping := func(ctx context.Context) error {
		_, err := api.Ping(ctx, client.PingOptions{})
		return silence(err)
	}
	return link.Watch(ping, guardian.EngineSilenceLimit(0), guardian.EnginePing)
}

// silence is err when it says the engine did not answer (no connection,
// or none in time); an error status is an answer.
func silence(err error) error {
	if err == nil || client.IsErrConnectionFailed(err) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
