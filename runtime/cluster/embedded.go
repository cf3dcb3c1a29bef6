package cluster

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/warrenhq/warren/runtime/internal/freeport"
)

// ServerConfig configures a NATS server embedded in a node's process. Three or more
// nodes, each embedding one with routes to the others, form a JetStream cluster.
type ServerConfig struct {
	// Name is the server's name, unique in the cluster (usually the node's name).
	Name string
	// StoreDir is where JetStream keeps its files. Required.
	StoreDir string
	// Host is the address the client and route listeners bind. Default 127.0.0.1.
	Host string
	// Port is the client port for other processes (tools, external clients); 0
	// picks a free one. The node itself connects in-process ([Server.Connect]).
	Port int
	// ClusterPort is the route port the other servers connect to; 0 runs a
	// standalone server (tests only: a standalone store cannot join a cluster later).
	ClusterPort int
	// Routes are the other servers' route addresses (host:port or
	// nats-route://host:port). Listing this server's own address is harmless, so every
	// node can be given the same list.
	Routes []string
	// ClusterName names the cluster; every server of it must use the same. Default
	// "warren".
	ClusterName string
	// ConfigFile is an optional nats-server configuration file (TLS, authorization,
	// limits). The fields above override it. It must set jetstream { sync_interval:
	// always }.
	ConfigFile string
	// ReadyTimeout bounds the wait for the listeners. Default 10 s.
	ReadyTimeout time.Duration
}

// Server is a running embedded NATS server with JetStream. It fsyncs every write
// (sync_interval: always): StartServer refuses any configuration that does not.
type Server struct {
	ns *server.Server
}

// StartServer starts an embedded NATS server with JetStream. It returns
// ErrUnsafeServer, starting nothing, when ConfigFile sets another sync interval than
// always, or leaves it at the default (two minutes, which loses acknowledged writes on
// power loss); without ConfigFile, SyncAlways is set.
func StartServer(cfg ServerConfig) (*Server, error) {
	opts, err := serverOptions(cfg)
	if err != nil {
		return nil, err
	}
	setRaftTimers() // elections.go
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("cluster: nats server %s: %w", cfg.Name, err)
	}
	failed := &startupErrors{}
	ns.SetLogger(failed, false, false)
	ns.Start()
	timeout := cfg.ReadyTimeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	for end := time.Now().Add(timeout); !ns.ReadyForConnections(25 * time.Millisecond); {
		if err := failed.first(); err != nil || time.Now().After(end) {
			ns.Shutdown()
			if err != nil { // a listener's port in use, a store it cannot open, ...
				return nil, fmt.Errorf("cluster: nats server %s: %w", cfg.Name, err)
			}
			return nil, fmt.Errorf("cluster: nats server %s not ready after %v", cfg.Name, timeout)
		}
	}
	if jc := ns.JetStreamConfig(); jc == nil || !jc.SyncAlways {
		ns.Shutdown()
		return nil, ErrUnsafeServer
	}
	return &Server{ns: ns}, nil
}

// startupErrors is the embedded server's logger: it keeps the first fatal error
// (the server does not exit the process; it stops starting and logs why), so that
// StartServer fails at once with the reason instead of waiting out ReadyTimeout.
// Everything else the server logs is dropped, as before it had a logger.
type startupErrors struct {
	mu  sync.Mutex
	err error
}

func (l *startupErrors) first() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

func (l *startupErrors) Fatalf(format string, v ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		e := &startupError{msg: fmt.Sprintf(format, v...)}
		for _, a := range v {
			if err, ok := a.(error); ok {
				e.cause = err // errors.Is(err, syscall.EADDRINUSE) sees a port in use
			}
		}
		l.err = e
	}
}

// startupError is a fatal error the server logged, wrapping the error it logged
// with it.
type startupError struct {
	msg   string
	cause error
}

func (e *startupError) Error() string { return e.msg }
func (e *startupError) Unwrap() error { return e.cause }

func (*startupErrors) Noticef(string, ...any) {}
func (*startupErrors) Warnf(string, ...any)   {}
func (*startupErrors) Errorf(string, ...any)  {}
func (*startupErrors) Debugf(string, ...any)  {}
func (*startupErrors) Tracef(string, ...any)  {}

// StartLoopbackCluster starts one server per name on 127.0.0.1, routed to each
// other, each storing under dir/<name>: a new cluster in one process, for tests and
// local tools. Route ports are picked free beforehand (every server must be given
// the others' addresses), so a port can be taken by another socket before its
// server binds it; the cluster is then started again on new ports (and empty
// stores), up to 5 times. On error nothing is left running.
func StartLoopbackCluster(dir string, names []string, readyTimeout time.Duration) ([]*Server, error) {
	var err error
	for range 5 {
		var servers []*Server
		if servers, err = startLoopback(dir, names, readyTimeout); !errors.Is(err, syscall.EADDRINUSE) {
			return servers, err
		}
		for _, name := range names {
			os.RemoveAll(filepath.Join(dir, name))
		}
	}
	return nil, err
}

func startLoopback(dir string, names []string, readyTimeout time.Duration) ([]*Server, error) {
	ports, err := pickPorts(len(names))
	if err != nil {
		return nil, err
	}
	routes := make([]string, len(ports))
	for i, p := range ports {
		routes[i] = net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
	}
	var out []*Server
	for i, name := range names {
		s, err := StartServer(ServerConfig{Name: name, StoreDir: filepath.Join(dir, name), ClusterPort: ports[i],
			Routes: routes, ReadyTimeout: readyTimeout})
		if err != nil {
			for _, o := range out {
				o.Shutdown()
			}
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// pickPorts picks the route ports of a loopback cluster (a variable for tests).
var pickPorts = freePorts

// freePorts returns n distinct ports free on 127.0.0.1 a moment ago, below the
// ephemeral range (package freeport).
func freePorts(n int) ([]int, error) { return freeport.Pick(n) }

// serverOptions builds the server's options from cfg and checks they are safe.
func serverOptions(cfg ServerConfig) (*server.Options, error) {
	if cfg.Name == "" || cfg.StoreDir == "" {
		return nil, errors.New("cluster: a server needs a Name and a StoreDir")
	}
	opts := &server.Options{}
	if cfg.ConfigFile != "" {
		var err error
		if opts, err = server.ProcessConfigFile(cfg.ConfigFile); err != nil {
			return nil, fmt.Errorf("cluster: %w", err)
		}
		if !opts.SyncAlways {
			return nil, fmt.Errorf("%w (%s sets %v)", ErrUnsafeServer, cfg.ConfigFile, syncSetting(opts))
		}
	}
	opts.ServerName = cfg.Name
	opts.JetStream = true
	opts.StoreDir = cfg.StoreDir
	opts.SyncAlways = true
	opts.NoSigs = true
	opts.Host = cfg.Host
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	opts.Port = cfg.Port
	if opts.Port == 0 {
		opts.Port = server.RANDOM_PORT
	}
	if cfg.ClusterPort != 0 {
		opts.Cluster.Name = cfg.ClusterName
		if opts.Cluster.Name == "" {
			opts.Cluster.Name = "warren"
		}
		opts.Cluster.Host = opts.Host
		opts.Cluster.Port = cfg.ClusterPort
		routes := make([]*url.URL, 0, len(cfg.Routes))
		for _, r := range cfg.Routes {
			if !strings.Contains(r, "://") {
				r = "nats-route://" + r
			}
			u, err := url.Parse(r)
			if err != nil {
				return nil, fmt.Errorf("cluster: route %q: %w", r, err)
			}
			routes = append(routes, u)
		}
		opts.Routes = routes
	}
	return opts, nil
}

func syncSetting(o *server.Options) string {
	if o.SyncInterval == 0 {
		return "the default sync interval"
	}
	return "sync_interval " + o.SyncInterval.String()
}

// Connect opens an in-process client connection to the server (no socket).
func (s *Server) Connect(opts ...nats.Option) (*nats.Conn, error) {
	return nats.Connect("", append([]nats.Option{nats.InProcessServer(s.ns)}, opts...)...)
}

// ClientURL is the URL of the client listener (nats://host:port).
func (s *Server) ClientURL() string { return s.ns.ClientURL() }

// ClusterAddr is the route listener's address, "" for a standalone server.
func (s *Server) ClusterAddr() string {
	if a := s.ns.ClusterAddr(); a != nil {
		return a.String()
	}
	return ""
}

// SyncAlways reports whether JetStream fsyncs every write: always true for a
// Server that started.
func (s *Server) SyncAlways() bool {
	jc := s.ns.JetStreamConfig()
	return jc != nil && jc.SyncAlways
}

// Shutdown stops the server and waits until it has.
func (s *Server) Shutdown() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
}
