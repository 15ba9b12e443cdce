package broker

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/server"
)

// Each handler file serves one Kafka API and registers it in one line, in
// an init function, as franz-go's kfake files do: adding an API is adding
// its file, and `ls` shows what is served. The table is filled before main
// runs and only read afterwards; Routes binds it to a broker.

// api is one registered Kafka API.
type api struct {
	key                    int16
	minVersion, maxVersion int16
	handle                 func(*Broker, context.Context, *server.RequestContext, kmsg.Request) server.Result
	// refuse answers the versions below minVersion (server.Route.Refuse).
	refuse        func(*Broker, context.Context, *server.RequestContext, kmsg.Request) server.Result
	largeRequests bool
	frameReusable bool
}

// apis are the registered APIs, one per key.
var apis = map[int16]*api{}

// apiOption sets how an API's requests are read (server.Route's flags).
type apiOption func(*api)

// largeRequests lets the API's frames reach socket.request.max.bytes.
func largeRequests(a *api) { a.largeRequests = true }

// frameReusable says the handler keeps nothing of the request frame.
func frameReusable(a *api) { a.frameReusable = true }

// refuseOlder answers requests of the versions below the served minimum
// with refuse instead of closing the connection: for versions clients
// still send that fjord will not serve (server.Route.Refuse).
func refuseOlder(refuse func(*Broker, context.Context, *server.RequestContext, kmsg.Request) server.Result) apiOption {
	return func(a *api) { a.refuse = refuse }
}

// registerAPI registers the handler of an API key and the versions it
// serves. Registering a key twice is a programming error caught at start.
func registerAPI(key, minVersion, maxVersion int16, handle func(*Broker, context.Context, *server.RequestContext, kmsg.Request) server.Result, opts ...apiOption) {
	if _, dup := apis[key]; dup {
		panic(fmt.Sprintf("broker: API key %d (%s) registered twice", key, kmsg.NameForKey(key)))
	}
	a := &api{key: key, minVersion: minVersion, maxVersion: maxVersion, handle: handle}
	for _, opt := range opts {
		opt(a)
	}
	apis[key] = a
}
