package streams_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/fjordhq/fjord/streams"
)

// Queries read a running instance's stores; before Start, or while the
// instance rebalances, they fail, and ErrStoreNotReady says when a retry
// may succeed. A store of other types than the query's is refused.
func ExampleQueryKeyValueStore() {
	topo, err := newWordCount()
	if err != nil {
		log.Fatal(err)
	}
	app, err := streams.NewApp(topo, streams.NewConfig("wordcount", "localhost:9092"))
	if err != nil {
		log.Fatal(err)
	}
	counts, err := streams.QueryKeyValueStore[string, int64](app, "counts")
	if err != nil {
		log.Fatal(err)
	}
	_, _, err = counts.Get("streams")
	fmt.Println(err)
	_, err = streams.QueryKeyValueStore[string, string](app, "counts")
	fmt.Println(errors.Is(err, streams.ErrUnknownStore))
	// Output:
	// streams: the application is not running
	// true
}

// Each instance serves the query handler on its application.server, so
// that any of them answers for every key: GET
// http://localhost:7070/stores/counts/keys/streams reads the count of
// "streams" where it lives. Locally, a key hosted elsewhere is reported
// with its host.
func ExampleNewKeyValueQueryHandler() {
	topo, err := newWordCount()
	if err != nil {
		log.Fatal(err)
	}
	cfg := streams.NewConfig("wordcount", "localhost:9092")
	cfg.ApplicationServer = "localhost:7070"
	app, err := streams.NewApp(topo, cfg)
	if err != nil {
		log.Fatal(err)
	}
	handler, err := streams.NewKeyValueQueryHandler[string, int64](app, "counts", func(s string) (string, error) { return s, nil })
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/stores/counts/", handler)
	srv := &http.Server{Addr: cfg.ApplicationServer, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
			log.Print(err)
		}
	}()
	defer srv.Close()
	ctx := context.Background()
	if err := app.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer app.Close(ctx)

	counts, err := streams.QueryKeyValueStore[string, int64](app, "counts")
	if err != nil {
		log.Fatal(err)
	}
	n, ok, err := counts.Get("streams")
	var elsewhere *streams.NotHostedError
	switch {
	case errors.As(err, &elsewhere):
		fmt.Println("ask", elsewhere.ActiveHost)
	case errors.Is(err, streams.ErrStoreNotReady):
		fmt.Println("retry shortly")
	case err != nil:
		log.Fatal(err)
	case ok:
		fmt.Println("streams:", n)
	}
}
