package clustermode

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The route token authenticates the requests nodes proxy to each other
// (server.Routing.Token). It is one random secret per cluster, kept in a KV bucket of
// its own: the first node creates it (compare-and-set), every other node reads it, so
// whoever can reach the cluster's NATS is a peer and nobody else. The bucket has three
// replicas, as every stream of the cluster (cluster.Config.Replicas).

const (
	tokenBucket = "warren_route"
	tokenKey    = "token"
)

// routeToken returns the cluster's route token, creating it if no node has yet.
func routeToken(ctx context.Context, nc *nats.Conn) (string, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return "", err
	}
	for {
		tok, err := tryRouteToken(ctx, js)
		if err == nil {
			return tok, nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("cluster: route token: %w (%v)", err, ctx.Err())
		case <-time.After(200 * time.Millisecond): // the bucket's stream may still be electing a leader
		}
	}
}

func tryRouteToken(ctx context.Context, js jetstream.JetStream) (string, error) {
	actx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	kv, err := js.KeyValue(actx, tokenBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(actx, jetstream.KeyValueConfig{Bucket: tokenBucket, Replicas: 3, History: 1})
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = js.KeyValue(actx, tokenBucket)
		}
	}
	if err != nil {
		return "", err
	}
	if e, err := kv.Get(actx, tokenKey); err == nil {
		return string(e.Value()), nil
	} else if !errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", err
	}
	var b [32]byte
	rand.Read(b[:])
	tok := hex.EncodeToString(b[:])
	if _, err := kv.Create(actx, tokenKey, []byte(tok)); errors.Is(err, jetstream.ErrKeyExists) {
		e, err := kv.Get(actx, tokenKey) // another node was first
		if err != nil {
			return "", err
		}
		return string(e.Value()), nil
	} else if err != nil {
		return "", err
	}
	return tok, nil
}
