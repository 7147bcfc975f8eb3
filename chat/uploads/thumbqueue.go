package uploads

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
)

// bigDecode is a decode after which the worker collects garbage at once,
// so that the next picture reuses the memory rather than adding to it.
const bigDecode = 16 << 20

// thumbQueue holds the committed pictures that wait for a thumbnail. One
// worker (RunThumbnails) makes them one at a time, in order, so pictures
// never decode side by side and no upload or post waits for a decode.
type thumbQueue struct {
	mu      sync.Mutex
	jobs    []string
	pending map[string]chan struct{} // closed once the job is done
	wake    chan struct{}
}

func newThumbQueue() thumbQueue {
	return thumbQueue{pending: make(map[string]chan struct{}), wake: make(chan struct{}, 1)}
}

// QueueThumbnail asks for the thumbnail of committed upload id, whose
// record says one is pending.
func (d *Dir) QueueThumbnail(id string) {
	q := &d.thumbs
	q.mu.Lock()
	if _, ok := q.pending[id]; !ok {
		q.pending[id] = make(chan struct{})
		q.jobs = append(q.jobs, id)
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// ThumbnailDone returns a channel closed once upload id's thumbnail has
// been made or given up on, or nil when none is queued.
func (d *Dir) ThumbnailDone(id string) <-chan struct{} {
	d.thumbs.mu.Lock()
	defer d.thumbs.mu.Unlock()
	if ch, ok := d.thumbs.pending[id]; ok {
		return ch
	}
	return nil
}

// ResumeThumbnails queues the uploads whose thumbnail a restart cut
// short.
func (d *Dir) ResumeThumbnails() error {
	entries, err := os.ReadDir(d.layout.Files())
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("look for pending thumbnails: %w", err)
	}
	for _, e := range entries {
		if !ValidID(e.Name()) {
			continue
		}
		if meta, err := d.Meta(e.Name()); err == nil && meta.ThumbPending {
			d.QueueThumbnail(e.Name())
		}
	}
	return nil
}

// RunThumbnails makes the queued thumbnails, one at a time, until ctx
// ends. report hears of failures that are the server's own.
func (d *Dir) RunThumbnails(ctx context.Context, report func(id string, err error)) {
	q := &d.thumbs
	for {
		q.mu.Lock()
		var id string
		if len(q.jobs) > 0 {
			id = q.jobs[0]
			q.jobs = q.jobs[1:]
		}
		q.mu.Unlock()
		if id == "" {
			select {
			case <-ctx.Done():
				return
			case <-q.wake:
				continue
			}
		}
		if err := d.makeQueuedThumbnail(id); err != nil && report != nil {
			report(id, err)
		}
		q.mu.Lock()
		close(q.pending[id])
		delete(q.pending, id)
		q.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
	}
}

// makeQueuedThumbnail makes the thumbnail of committed upload id and
// records it in its meta.json. An upload removed meanwhile is no error.
func (d *Dir) makeQueuedThumbnail(id string) error {
	meta, err := d.Meta(id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil || !meta.ThumbPending {
		return err
	}
	dir := d.layout.Files(id)
	thumb, cost, err := makeThumbnail(filepath.Join(dir, originalName), meta.Type)
	if cost > bigDecode {
		runtime.GC()
	}
	meta.ThumbPending = false
	switch {
	case err == nil:
		meta.ThumbType = thumb.Type
		tmp := filepath.Join(dir, thumbName+".new")
		os.Remove(tmp)
		if err := writeFileSync(tmp, thumb.Data); err != nil {
			return ignoreGone(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, thumbName)); err != nil {
			return ignoreGone(err)
		}
	case errors.Is(err, errNotPicture):
		meta.Inline = false // damaged: kept, but only as an attachment
	default:
		var pe *PixelsError
		if !errors.As(err, &pe) {
			return ignoreGone(err)
		}
	}
	return ignoreGone(d.writeMeta(dir, meta))
}

// writeMeta replaces the meta.json of the upload in dir whole.
func (d *Dir) writeMeta(dir string, meta Meta) error {
	raw, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, metaName+".new")
	os.Remove(tmp)
	if err := writeFileSync(tmp, raw); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, metaName)); err != nil {
		return fmt.Errorf("save upload record: %w", err)
	}
	return syncDir(dir)
}

// ignoreGone drops the error of an upload removed while its thumbnail
// was made (retention, a destroyed room).
func ignoreGone(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
