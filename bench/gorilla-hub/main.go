// Peer for telltale-bench: a broadcast server in the shape of the classic
// gorilla/websocket chat example (github.com/gorilla/websocket, examples/chat):
// one hub goroutine owns the set of clients and takes registrations,
// unregistrations and messages to broadcast from three channels; every
// client has a send queue of 256 messages, a read pump and a write pump
// with ping/pong keep-alive and write deadlines. Written for this benchmark,
// following that structure and its behaviour:
//
//   - every connection is a subscriber, and every message read from any
//     connection is broadcast to every client (the sender included);
//   - a client whose send queue is full when a message is broadcast is
//     dropped (its queue closed, the write pump sends a close frame);
//   - the write pump writes one message per WebSocket message, plus every
//     message already queued behind it in the same WebSocket message,
//     separated by newlines: that joining is the chat example's, kept because
//     it is what "the classic Go hub" does (the bench counts each line as one
//     delivery, as it does with telltale-hub's joined frames).
//
// What differs from the chat example, and why: no HTML page and no origin
// check (the bench connects without an Origin header anyway); the read limit
// is 64 KiB instead of 512 bytes (the bench publishes payloads of up to 65,000
// bytes); messages are forwarded as they are (the example trims them and
// turns newlines into spaces, which is chat-specific; bench payloads have no
// newlines); the listening port is printed, and SIGTERM exits with status 0.
//
// Built in GOPATH mode from Debian's packages (golang-go,
// golang-github-gorilla-websocket-dev), as telltale-bench does it:
//
//	GOPATH=/usr/share/gocode GO111MODULE=off go build -o gorilla-hub ./bench/gorilla-hub
//
// Usage: gorilla-hub [PORT] [HOST]   (PORT 0 or absent: any free port)
// Prints `listening on PORT` on stdout once it accepts connections.
package main

import (
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

const (
	// Longest a write to one client may take.
	writeWait = 10 * time.Second
	// A client that has not answered a ping by then is gone.
	pongWait = 60 * time.Second
	// Pings are sent a little more often than pongWait.
	pingPeriod = (pongWait * 9) / 10
	// Largest message read from a client.
	maxMessageSize = 64 << 10
	// Messages queued per client before the hub drops it.
	sendQueue = 256
)

var newline = []byte{'\n'}

// The chat example's buffer sizes: messages longer than the write buffer go
// out as several frames of one message.
var upgrader = websocket.Upgrader{
	ReadBufferSize:  1024,
	WriteBufferSize: 1024,
	CheckOrigin:     func(*http.Request) bool { return true },
}

// hub owns the set of clients; only its goroutine touches it.
type hub struct {
	clients    map[*client]struct{}
	broadcast  chan []byte
	register   chan *client
	unregister chan *client
}

func newHub() *hub {
	return &hub{
		clients:    make(map[*client]struct{}),
		broadcast:  make(chan []byte),
		register:   make(chan *client),
		unregister: make(chan *client),
	}
}

func (h *hub) run() {
	for {
		select {
		case c := <-h.register:
			h.clients[c] = struct{}{}
		case c := <-h.unregister:
			h.drop(c)
		case message := <-h.broadcast:
			for c := range h.clients {
				select {
				case c.send <- message:
				default:
					// Its queue is full: the client is too slow.
					h.drop(c)
				}
			}
		}
	}
}

// drop forgets a client and closes its queue, which ends its write pump.
func (h *hub) drop(c *client) {
	if _, ok := h.clients[c]; ok {
		delete(h.clients, c)
		close(c.send)
	}
}

// client is one connection, between the hub and the socket.
type client struct {
	hub  *hub
	conn *websocket.Conn
	send chan []byte
}

// readPump hands every message read to the hub, until the connection ends.
func (c *client) readPump() {
	defer func() {
		c.hub.unregister <- c
		c.conn.Close()
	}()
	c.conn.SetReadLimit(maxMessageSize)
	c.conn.SetReadDeadline(time.Now().Add(pongWait))
	c.conn.SetPongHandler(func(string) error {
		return c.conn.SetReadDeadline(time.Now().Add(pongWait))
	})
	for {
		_, message, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		c.hub.broadcast <- message
	}
}

// writePump writes the queued messages (those queued together in one
// WebSocket message, newline separated) and a ping every pingPeriod.
func (c *client) writePump() {
	ticker := time.NewTicker(pingPeriod)
	defer func() {
		ticker.Stop()
		c.conn.Close()
	}()
	for {
		select {
		case message, ok := <-c.send:
			c.conn.SetWriteDeadline(time.Now().Add(writeWait))
			if !ok {
				// The hub dropped this client.
				c.conn.WriteMessage(websocket.CloseMessage, []byte{})
				return
			}
			w, err := c.conn.NextWriter(websocket.TextMessage)
			if err != nil {
				return
			}
			w.Write(message)
			queued := len(c.send)
			for i := 0; i < queued; i++ {
				w.Write(newline)
				w.Write(<-c.send)
			}
			if err := w.Close(); err != nil {
				return
			}
		case <-ticker.C:
			c.conn.SetWriteDeadline(time.Now().Add(writeWait))
			if err := c.conn.WriteMessage(websocket.PingMessage, nil); err != nil {
				return
			}
		}
	}
}

func serveWs(h *hub, w http.ResponseWriter, r *http.Request) {
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &client{hub: h, conn: conn, send: make(chan []byte, sendQueue)}
	h.register <- c
	go c.writePump()
	go c.readPump()
}

func main() {
	port := "0"
	host := "127.0.0.1"
	if len(os.Args) > 1 {
		port = os.Args[1]
	}
	if len(os.Args) > 2 {
		host = os.Args[2]
	}
	listener, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		log.Fatalf("server error: %v", err)
	}

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-signals
		os.Exit(0)
	}()

	h := newHub()
	go h.run()
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		serveWs(h, w, r)
	})
	fmt.Printf("listening on %d\n", listener.Addr().(*net.TCPAddr).Port)
	if err := http.Serve(listener, mux); err != nil {
		log.Fatalf("server error: %v", err)
	}
}
