// Package notes is the example resource: short notes that clients create and
// read back. It shows the shape of a resource: a model, a store interface the
// handlers depend on, and handlers that decode strictly and validate.
package notes

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Note is a short text a client stored.
type Note struct {
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

// Store keeps notes. The handlers depend on this interface only, so a
// database can replace the in-memory store without touching them.
type Store interface {
	Create(ctx context.Context, n Note) error
	Get(ctx context.Context, id string) (Note, error)
}

// Errors a Store returns.
var (
	ErrNotFound = errors.New("note not found")
	ErrFull     = errors.New("note store is full")
)

// MemoryStore is a Store in memory, bounded so that clients cannot exhaust the
// service's memory. It loses everything when the process exits.
type MemoryStore struct {
	mu    sync.RWMutex
	notes map[string]Note
	limit int
}

// NewMemoryStore returns an empty store that holds at most limit notes.
func NewMemoryStore(limit int) *MemoryStore {
	return &MemoryStore{notes: make(map[string]Note), limit: limit}
}

// Create stores n.
func (s *MemoryStore) Create(_ context.Context, n Note) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.notes) >= s.limit {
		return ErrFull
	}
	s.notes[n.ID] = n
	return nil
}

// Get returns the note with the given ID, or ErrNotFound.
func (s *MemoryStore) Get(_ context.Context, id string) (Note, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n, ok := s.notes[id]
	if !ok {
		return Note{}, ErrNotFound
	}
	return n, nil
}
