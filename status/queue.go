package status

import "container/heap"

// dueQueue is a min-heap of assets by the time their next check is due.
type dueQueue []*asset

func (q dueQueue) Len() int           { return len(q) }
func (q dueQueue) Less(i, j int) bool { return q[i].due < q[j].due }
func (q dueQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].heapIdx, q[j].heapIdx = int32(i), int32(j) //nolint:gosec // G115: a heap index, under 2^31 assets
}

func (q *dueQueue) Push(x any) {
	a := x.(*asset)
	a.heapIdx = int32(len(*q)) //nolint:gosec // G115: a heap index, under 2^31 assets
	*q = append(*q, a)
}

func (q *dueQueue) Pop() any {
	old := *q
	n := len(old)
	a := old[n-1]
	old[n-1] = nil
	a.heapIdx = -1
	*q = old[:n-1]
	return a
}

// schedule puts a in the queue, or moves it there, due at due.
func (q *dueQueue) schedule(a *asset, due int64) {
	a.due = due
	if a.heapIdx >= 0 {
		heap.Fix(q, int(a.heapIdx))
		return
	}
	heap.Push(q, a)
}

// remove takes a out of the queue if it is there.
func (q *dueQueue) remove(a *asset) {
	if a.heapIdx >= 0 {
		heap.Remove(q, int(a.heapIdx))
	}
}

// countDue counts the assets due at or before now, visiting only those
// (and their children): a parent is never due later than its children.
func (q dueQueue) countDue(now int64) int {
	n := 0
	stack := []int{0}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if i >= len(q) || q[i].due > now {
			continue
		}
		n++
		stack = append(stack, 2*i+1, 2*i+2)
	}
	return n
}
