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

// MemoryStore is a Store in memory, bounded both by the number of notes and
// by their size, so that no client can exhaust the service's memory however
// it shapes its notes. It loses everything when the process exits.
type MemoryStore struct {
	mu       sync.RWMutex
	notes    map[string]Note
	limit    int
	maxBytes int64
	bytes    int64
}

// noteOverhead approximates what a note costs beyond its strings: the
// struct, its time and its map entry.
const noteOverhead = 128

// NewMemoryStore returns an empty store that holds at most limit notes and
// at most maxBytes of them, as size counts them.
func NewMemoryStore(limit int, maxBytes int64) *MemoryStore {
	return &MemoryStore{notes: make(map[string]Note), limit: limit, maxBytes: maxBytes}
}

// size is what n counts against the store's byte bound.
func size(n Note) int64 {
	return int64(len(n.ID)+len(n.Title)+len(n.Body)) + noteOverhead
}

// Usage returns how many notes the store holds and their size in bytes.
func (s *MemoryStore) Usage() (int, int64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.notes), s.bytes
}

// Create stores n, or returns ErrFull when either bound would be passed.
func (s *MemoryStore) Create(_ context.Context, n Note) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	bytes, count := s.bytes+size(n), len(s.notes)+1
	if old, ok := s.notes[n.ID]; ok {
		bytes, count = bytes-size(old), count-1
	}
	if count > s.limit || bytes > s.maxBytes {
		return ErrFull
	}
	s.notes[n.ID] = n
	s.bytes = bytes
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
