module github.com/warrenhq/warren/loadtest

go 1.26.0

require (
	github.com/HdrHistogram/hdrhistogram-go v1.2.0
	github.com/google/go-cmp v0.7.0
	github.com/gorilla/websocket v1.5.3
)
