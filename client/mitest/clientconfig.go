package mitest

import (
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
)

// ClientConfig is a client configuration for the default account of s, as
// tests want it: see Account.ClientConfig.
func (s *Server) ClientConfig() client.Config { return s.def.ClientConfig() }

// ClientConfig is a client configuration for the account, as tests want
// it: the server's URL and the account's first key (AccessKey), the zone
// Asia/Seoul, and retries with a backoff of a few milliseconds so that
// fault tests run fast.
func (a *Account) ClientConfig() client.Config {
	seoul, err := time.LoadLocation(client.DefaultTimezone)
	if err != nil {
		panic(err) // time/tzdata is embedded by package client
	}
	ak, sk := a.firstKey()
	return client.Config{
		BaseURL:     a.s.URL,
		Credentials: client.Static(client.NewCredentials(ak, sk)),
		MaxAttempts: 4,
		BackoffBase: time.Millisecond,
		BackoffMax:  5 * time.Millisecond,
		Location:    seoul,
		Transport:   client.NewTransport(8),
	}
}
