package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// target is one server the comparison ramps.
type target struct {
	name string
	// command starts a fresh server listening on port with its data under dir
	// (no shell: split on spaces, as the load tester's -start does).
	command func(port int, dir string) string
}

// run is one ramp of one target.
type run struct {
	round  int
	target target
}

// schedule alternates the targets' order every round (A B, B A, A B, …), so
// neither always runs first on a machine whose load drifts.
func schedule(targets []target, rounds int) []run {
	var out []run
	for r := range rounds {
		for i := range targets {
			j := i
			if r%2 == 1 {
				j = len(targets) - 1 - i
			}
			out = append(out, run{round: r + 1, target: targets[j]})
		}
	}
	return out
}

// rampSettings are the load tester's ramp flags, the same for every target.
type rampSettings struct {
	Conns        int
	Rate         float64
	Factor       float64
	Steps        int
	StepDuration string
	SLOP99       string
	Warmup       string
}

// loadtestArgs are the load tester's arguments for one ramp of the chat
// scenario against a server it starts itself, writing its report to jsonPath.
func loadtestArgs(s rampSettings, port int, startCmd, jsonPath, logPath string) []string {
	return []string{
		"chat",
		"-url", fmt.Sprintf("ws://127.0.0.1:%d/parties/chat/{room}?_pk={conn}", port),
		"-mode", "ramp", "-conns", strconv.Itoa(s.Conns), "-rooms", "1", "-senders", "1",
		"-rate", strconv.FormatFloat(s.Rate, 'g', -1, 64),
		"-ramp-factor", strconv.FormatFloat(s.Factor, 'g', -1, 64),
		"-ramp-steps", strconv.Itoa(s.Steps), "-step-duration", s.StepDuration, "-slo-p99", s.SLOP99,
		"-warmup", s.Warmup,
		"-start", startCmd, "-start-log", logPath, "-json", jsonPath, "-progress", "off",
	}
}

// warrenTarget is Warren's chat binary with its rate limits out of the way (the
// tester sends from one address at up to thousands of messages per second).
func warrenTarget(name, bin string) target {
	return target{name: name, command: func(port int, dir string) string {
		return strings.Join([]string{bin, "-addr", "127.0.0.1:" + strconv.Itoa(port), "-data", filepath.Join(dir, "data")}, " ")
	}}
}

// warrenEnv lifts the chat app's per-user, per-address and per-room limits.
var warrenEnv = []string{
	"WARREN_CHAT_BURST=1000000", "WARREN_CHAT_RATE=1000000",
	"WARREN_CHAT_ADDR_BURST=1000000", "WARREN_CHAT_ADDR_RATE=1000000",
	"WARREN_CHAT_ROOM_BURST=1000000", "WARREN_CHAT_ROOM_RATE=1000000",
	"WARREN_LOG_LEVEL=error",
}

// workerdTarget is Cloudflare's durable-chat-template on standalone workerd, its
// Durable Objects' SQLite on local disk under dir.
func workerdTarget(bin, config string) target {
	return target{name: "workerd", command: func(port int, dir string) string {
		return strings.Join([]string{bin, "serve", config,
			"--socket-addr", "http=127.0.0.1:" + strconv.Itoa(port),
			"--directory-path", "do-storage=" + filepath.Join(dir, "do")}, " ")
	}}
}
