// Command echoserver is the TCP peer of the tunnel tests in e2e/engine: it runs in a container of
// the test image and is reached by IP through a helper.
//
//	:7000 echoes what it reads until the client closes
//	:7001 writes "bye\n" and closes (the server ends the connection)
//	:7002 writes 256 MiB and closes (download throughput)
package main

import (
	"io"
	"log"
	"net"
)

func main() {
	go serve(":7001", func(c net.Conn) { _, _ = io.WriteString(c, "bye\n") })
	go serve(":7002", func(c net.Conn) {
		buf := make([]byte, 1<<20)
		for range 256 {
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	})
	serve(":7000", func(c net.Conn) { _, _ = io.Copy(c, c) })
}

func serve(addr string, handle func(net.Conn)) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go func() {
			defer c.Close()
			handle(c)
		}()
	}
}
