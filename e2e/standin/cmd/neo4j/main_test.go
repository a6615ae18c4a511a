package main

import (
	"testing"

	"gotest.tools/v3/assert"

	"github.com/opsmill/docker-infrahubdb/e2e/standin/settings"
)

func TestListenAddress(t *testing.T) {
	for value, want := range map[string]string{
		"":               "127.0.0.1:6362", // the default: loopback only
		"0.0.0.0:6362":   "0.0.0.0:6362",
		":6363":          "0.0.0.0:6363",
		"6364":           "0.0.0.0:6364",
		"10.1.2.3":       "10.1.2.3:6362",
		"127.0.0.1:6362": "127.0.0.1:6362",
	} {
		conf := settings.Settings{}
		if value != "" {
			conf[settings.BackupListenAddress] = value
		}
		assert.Equal(t, listenAddress(conf, settings.BackupListenAddress), want, value)
	}
	assert.Equal(t, listenAddress(settings.Settings{}, settings.BoltListenAddress), "0.0.0.0:7687")
}
