package mitest

import (
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
)

// ClientConfig is a client configuration for s, as tests want it: the
// server's URL and credentials, the zone Asia/Seoul, and retries with a
// backoff of a few milliseconds so that fault tests run fast.
func (s *Server) ClientConfig() client.Config {
	seoul, err := time.LoadLocation(client.DefaultTimezone)
	if err != nil {
		panic(err) // time/tzdata is embedded by package client
	}
	return client.Config{
		BaseURL:     s.URL,
		Credentials: client.Static(client.NewCredentials(DefaultAccessKey, DefaultSecretKey)),
		MaxAttempts: 4,
		BackoffBase: time.Millisecond,
		BackoffMax:  5 * time.Millisecond,
		Location:    seoul,
		Transport:   client.NewTransport(8),
	}
}
