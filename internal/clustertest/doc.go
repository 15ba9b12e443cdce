// Package clustertest runs fjord clusters inside a test process: every node
// is node.Run, as `fjord server` runs it, with its own data directory,
// controller port and file system, so that a test can fail one node's disk
// (vfs.FaultFS) or corrupt what it reads while clients drive the cluster
// over loopback. It also picks the free loopback ports that multi-process
// cluster tests (test/e2e) give their controllers.
package clustertest
