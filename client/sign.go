package client

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
)

// Sign returns the NCP API Gateway signature v2 for one request.
//
// requestURI is the path with its query string exactly as sent on the wire,
// without scheme or host; timestampMillis is the value of the
// x-ncp-apigw-timestamp header (Unix epoch in milliseconds).
func Sign(method, requestURI string, timestampMillis int64, accessKey, secretKey string) string {
	mac := hmac.New(sha256.New, []byte(secretKey))
	mac.Write([]byte(method))
	mac.Write([]byte(" "))
	mac.Write([]byte(requestURI))
	mac.Write([]byte("\n"))
	mac.Write([]byte(strconv.FormatInt(timestampMillis, 10)))
	mac.Write([]byte("\n"))
	mac.Write([]byte(accessKey))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Header names used by the NCP API Gateway.
const (
	HeaderTimestamp = "x-ncp-apigw-timestamp"
	HeaderAccessKey = "x-ncp-iam-access-key"
	HeaderSignature = "x-ncp-apigw-signature-v2"
)
