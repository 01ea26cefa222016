package credentials

// Settle waits until r's fetch in progress, if any, has ended: tests with
// a fake clock use it to see a background renewal's result.
func Settle(r *Role) {
	r.mu.Lock()
	f := r.flight
	r.mu.Unlock()
	if f != nil {
		<-f.done
	}
}
