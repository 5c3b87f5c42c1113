package zetasql

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Server is a running ZetaSQL local service process.
type Server struct {
	addr   string
	cmd    *exec.Cmd
	done   chan struct{} // closed when the process has exited
	output *limitedBuffer
	logger *slog.Logger

	closeOnce sync.Once
	waitErr   error
}

// Start runs the service binary on a free loopback port and returns once it
// answers gRPC calls. ctx bounds the start-up only; the process runs until
// Close. The binary's own output is kept (the last few kilobytes) and shown
// in errors when it fails to start.
func Start(ctx context.Context, binaryPath string, logger *slog.Logger) (*Server, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if _, err := os.Stat(binaryPath); err != nil {
		return nil, fmt.Errorf("zetasql server binary: %w (install it with tools/zetasql/install.sh)", err)
	}
	// The port is chosen by listening on port 0 and releasing it. Another
	// process could take it in between; the server then exits at once and
	// we try again with a fresh port.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s, err := startOn(ctx, binaryPath, port, logger)
		if err == nil {
			return s, nil
		}
		lastErr = err
		if ctx.Err() != nil || !errors.Is(err, errExited) {
			break
		}
	}
	return nil, lastErr
}

var errExited = errors.New("zetasql server exited during start-up")

func startOn(ctx context.Context, binaryPath string, port int, logger *slog.Logger) (*Server, error) {
	out := &limitedBuffer{max: 16 << 10}
	cmd := exec.Command(binaryPath, "localhost", strconv.Itoa(port))
	cmd.Stdout = out
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start zetasql server %s: %w", binaryPath, err)
	}
	s := &Server{
		addr:   net.JoinHostPort("localhost", strconv.Itoa(port)),
		cmd:    cmd,
		done:   make(chan struct{}),
		output: out,
		logger: logger,
	}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.done)
	}()
	logger.DebugContext(ctx, "zetasql server starting", "addr", s.addr, "pid", cmd.Process.Pid)
	if err := s.waitReady(ctx); err != nil {
		s.Close()
		return nil, err
	}
	logger.DebugContext(ctx, "zetasql server ready", "addr", s.addr)
	return s, nil
}

// waitReady polls the service with a cheap call until it answers, the
// process exits, or ctx ends.
func (s *Server) waitReady(ctx context.Context) error {
	conn, err := grpc.NewClient(s.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("zetasql server %s: %w", s.addr, err)
	}
	defer conn.Close()
	const method = "/zetasql.local_service.ZetaSqlLocalService/GetAnalyzerOptions"
	backoff := 20 * time.Millisecond
	for {
		// The request (an empty AnalyzerOptionsRequest) and an empty
		// message share their encoding; the response is decoded into an
		// empty message, keeping its fields as unknown bytes.
		err := conn.Invoke(ctx, method, &emptypb.Empty{}, &emptypb.Empty{})
		if err == nil {
			// An answer while our process has already exited came from
			// whoever took the port first; report it so Start retries.
			select {
			case <-s.done:
				return fmt.Errorf("%w: %v; output:\n%s", errExited, s.waitErr, s.output.String())
			default:
				return nil
			}
		}
		if c := status.Code(err); c != codes.Unavailable && c != codes.DeadlineExceeded && c != codes.Canceled {
			return fmt.Errorf("zetasql server %s not answering: %w", s.addr, err)
		}
		select {
		case <-s.done:
			return fmt.Errorf("%w: %v; output:\n%s", errExited, s.waitErr, s.output.String())
		case <-ctx.Done():
			return fmt.Errorf("zetasql server %s did not become ready: %w; output:\n%s", s.addr, ctx.Err(), s.output.String())
		case <-time.After(backoff):
		}
		if backoff < 200*time.Millisecond {
			backoff *= 2
		}
	}
}

// Addr is the host:port the service listens on.
func (s *Server) Addr() string { return s.addr }

// Close stops the service and waits for it to exit.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		select {
		case <-s.done:
			return
		default:
		}
		if err := s.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			s.logger.Warn("zetasql server kill failed", "pid", s.cmd.Process.Pid, "err", err)
		}
		<-s.done
		s.logger.Debug("zetasql server stopped", "addr", s.addr)
	})
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// limitedBuffer keeps the last max bytes written to it; safe for concurrent
// use (the process writes stdout and stderr from two goroutines).
type limitedBuffer struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if extra := b.buf.Len() - b.max; extra > 0 {
		b.buf.Next(extra)
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
