package httpx

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestWindowHoldsSlotsForAWindowAfterRelease(t *testing.T) {
	l := NewWindow(2, time.Hour)
	ctx := context.Background()
	r1, err := l.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := l.Acquire(done); !errors.Is(err, context.Canceled) {
		t.Fatalf("third acquire with both slots in flight: err = %v, want to wait", err)
	}
	r1()
	r1() // releasing twice is harmless
	if _, err := l.Acquire(done); !errors.Is(err, context.Canceled) {
		t.Fatalf("acquire right after a release: err = %v, want to wait out the window", err)
	}
}

func TestWindowReusesSlotAfterWindow(t *testing.T) {
	l := NewWindow(1, 0) // a zero window frees a slot at release
	r, err := l.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r()
	if _, err := l.Acquire(context.Background()); err != nil {
		t.Fatalf("acquire after the window: %v", err)
	}
}
