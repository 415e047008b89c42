package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/pith-project/pith/relay"
)

func init() {
	var (
		gateway, listen string
		maxBody         int64
	)
	register(&command{
		Name:  "relay",
		Short: "an Oblivious HTTP relay for an enclave: sees who asks, never what",
		Usage: "pith relay --gateway URL [--listen ADDR] [--max-body BYTES]",
		Help: `Passes sealed requests (POST /v1/ohttp) and the two requests a client needs
before it can seal (GET /v1/attestation, GET /.well-known/ohttp-gateway) on to
the enclave at --gateway, with none of the client's address or header fields:
the enclave learns what is asked and never who, the relay who asks and never
what. Run it as a party other than the enclave's operator; the two together
could link them. Everything else is refused; answers stream through as they
come. Logs a line a request on stderr, without addresses or content.

Clients point both --relay and --attestation-url at it, so that the enclave
never sees their address:
  pith summarize --url GATEWAY --relay http://RELAY/v1/ohttp \
      --attestation-url http://RELAY --manifest manifest.json chat.txt

Example:
  pith relay --gateway https://enclave.example --listen :8443`,
		Flags: func(fs *flag.FlagSet) {
			fs.StringVar(&gateway, "gateway", "", "the enclave's base `URL` (the --url its clients verify)")
			fs.StringVar(&listen, "listen", "127.0.0.1:8082", "address to serve on (':8082' for every interface)")
			fs.Int64Var(&maxBody, "max-body", relay.DefaultMaxBody, "longest sealed request body to pass on, in bytes")
		},
		Run: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return usagef("unexpected argument %q", args[0])
			}
			if gateway == "" {
				return usagef("--gateway is required: the enclave's base URL")
			}
			u, err := url.Parse(gateway)
			if err != nil {
				return usagef("--gateway: %v", err)
			}
			if maxBody < 1 {
				return usagef("--max-body: want at least 1 byte, not %d", maxBody)
			}
			log := slog.New(slog.NewTextHandler(os.Stderr, nil))
			h, err := relay.New(relay.Options{Gateway: u, MaxBody: maxBody, Logger: log})
			if err != nil {
				return usagef("--gateway %s: %v", gateway, err)
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "pith relay: on http://%s, to %s\n", ln.Addr(), u.Redacted())
			// No write timeout: an answer streams for as long as its
			// generation runs, and the enclave bounds that itself. The
			// server's own error log is dropped: its lines (TLS and
			// header errors) name the client's address.
			hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute,
				ErrorLog: slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)}
			return serveUntil(ctx, hs, ln)
		},
	})
}
