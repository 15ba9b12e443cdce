// Package cli implements the client side of the fjord command line:
// `fjord topic`, `fjord produce`, `fjord consume`, `fjord cluster`,
// `fjord group`, `fjord partition`, `fjord txn`, the security admin
// commands `fjord user` (SCRAM credentials), `fjord acl` and `fjord quota`,
// `fjord profile` (named client settings) and `fjord completion`.
//
// Model: every command is a function of (ctx, args, stdin, stdout, stderr)
// that parses its own flag.FlagSet, talks to the brokers through one
// franz-go client (kgo for records, kadm for administration) and returns an
// error. Main maps the error to an exit code: ErrUsage (already explained on
// stderr) is 2, any other error is printed as "fjord: <message>" and is 1.
// Nothing reads os.Args, os.Stdin or os.Exit here, so commands run
// in-process in tests. Flags may come anywhere: before the command name
// and the subcommand name (splitCommand moves them after it) and between
// or after the positional arguments (parseArgs).
//
// Security: every client is made by newClient, which applies the settings
// of the profile in use (profile.go: a Kafka client properties file under
// $FJORD_CONFIG_DIR/profiles), then of --command-config (a Kafka client
// properties file: security.protocol, sasl.mechanism, sasl.jaas.config,
// ssl.*), overridden flag by flag by --security-protocol, --sasl-*,
// --tls-*. They are resolved once, when the command line is checked, so a
// bad setting is a usage error naming the setting. Passwords, tokens and
// keys are never part of an error, of help or of ClientSecurity.String,
// and `fjord profile show` hides them.
//
// Records: consume prints them with a kcat-style template or as JSON, and
// produce reads lines of text or JSON; format_json.go defines the JSON
// form both use. `fjord consume --group` is a group member whose
// committed offsets are those of the records it printed (consume_group.go).
//
// Concurrency: a command runs on the caller's goroutine. The franz-go client
// it creates owns its own goroutines and is closed before the command
// returns; produce callbacks only touch state guarded by the produce
// tally's mutex, and a group member's rebalance callbacks only the
// groupProgress they share with the poll loop, under its mutex. Cancelling
// ctx (SIGINT in the binary) ends any command promptly; a following
// consumer treats that as a normal stop, and a group member commits what
// it printed before it exits.
//
// Limits: every broker operation is bounded by --timeout (whole admin
// commands, each produce delivery, and each wait for records while a
// consumer catches up to the end offsets captured at start); produced lines
// are bounded by --max-line-bytes, the size Kafka accepts for one record by
// default.
package cli
