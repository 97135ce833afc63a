package gateway

import "net/http"

// recorder remembers a response's status and, when asked, the first bytes of
// its body, for metrics and the request log.
type recorder struct {
	http.ResponseWriter
	status  int
	capture int // how many body bytes to keep
	body    []byte
}

func newRecorder(w http.ResponseWriter, capture int) *recorder {
	return &recorder{ResponseWriter: w, capture: capture}
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if room := r.capture - len(r.body); room > 0 {
		r.body = append(r.body, b[:min(room, len(b))]...)
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flushes,
// deadlines) through the recorder.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
