package client

import "time"

// Tracer is told of every attempt of the calls made through a Client of
// Traced, in the order they end. Implementations must be safe for
// concurrent use.
type Tracer interface {
	TraceAttempt(Attempt)
}

// Attempt is one request of a call, as a trace shows it: what was asked
// (never a header, the signature or a key) and what came back.
type Attempt struct {
	Op Operation
	// URI is the path below the base URL, with the query
	// ("/api/v1/workspaces/ws/projects/1/assets?pageNum=1&pageSize=1000").
	URI string
	// N is the attempt's number within its call, from 1.
	N int
	// Status is the HTTP status, 0 when no answer came.
	Status int
	// Code and Message are the API's code and message for an error
	// answer, or a description of what was wrong with the answer.
	Code, Message string
	// Err is the cause of a failure beneath Code and Message (transport,
	// decoding, context), "" when none.
	Err string
	// Duration is from the start of the attempt (the limiter's wait
	// included) to its end; Bytes is the size of the body read.
	Duration time.Duration
	Bytes    int
}
