"""Token endpoints: JWT bearer (good and bad signatures, stale claims),
refresh_token, metadata server, STS and generateAccessToken."""
import json
import os
import subprocess
import tempfile
import urllib.parse

import fk

c = fk.Client()
key_file = json.load(open(os.environ["DL_SANDBOX_SA_KEY"]))
fk.check(key_file["token_uri"] == fk.URL + "/token", "token_uri is fakegcp")

with tempfile.TemporaryDirectory() as tmp:
    good_key = os.path.join(tmp, "good.pem")
    with open(good_key, "w") as f:
        f.write(key_file["private_key"])
    other_key = os.path.join(tmp, "other.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                    "rsa_keygen_bits:2048", "-out", other_key], check=True,
                   capture_output=True)

    def claims(**over):
        t = fk.now()
        c = {"iss": key_file["client_email"], "aud": key_file["token_uri"],
             "scope": "https://www.googleapis.com/auth/cloud-platform",
             "iat": t, "exp": t + 3600}
        c.update(over)
        return c

    def exchange(assertion):
        form = urllib.parse.urlencode({
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": assertion}).encode()
        return c.request("POST", "/token", raw=form, auth=False, headers={
            "Content-Type": "application/x-www-form-urlencoded"})

    st, body, _ = exchange(fk.sign_jwt(claims(), good_key))
    fk.check(st == 200, "good JWT: 200, got %s %s" % (st, body))
    if st == 200:
        fk.check(body["access_token"].startswith("ya29."), "ya29. token")
        fk.check(body["token_type"] == "Bearer", "token_type Bearer")
        fk.check(isinstance(body["expires_in"], int) and
                 0 < body["expires_in"] <= 3600, "expires_in")

    st, body, _ = exchange(fk.sign_jwt(claims(), other_key))
    fk.check(st == 400 and body == {"error": "invalid_grant",
                                    "error_description":
                                    "Invalid JWT Signature."},
             "bad signature: 400 invalid_grant, got %s %s" % (st, body))

    good = fk.sign_jwt(claims(), good_key)
    tampered = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    st, body, _ = exchange(tampered)
    fk.check(st == 400 and body["error"] == "invalid_grant",
             "tampered signature rejected")

    t = fk.now()
    st, body, _ = exchange(fk.sign_jwt(claims(iat=t - 7200, exp=t - 3600),
                                       good_key))
    fk.check(st == 400 and body["error"] == "invalid_grant" and
             "short-lived" in body["error_description"],
             "expired JWT rejected, got %s %s" % (st, body))
    st, body, _ = exchange(fk.sign_jwt(claims(exp=t + 7200), good_key))
    fk.check(st == 400 and body["error"] == "invalid_grant",
             "JWT longer than an hour rejected")
    st, body, _ = exchange("not-a-jwt")
    fk.check(st == 400 and body["error"] == "invalid_grant", "garbage JWT")

form = urllib.parse.urlencode({"grant_type": "refresh_token",
                               "refresh_token": "1//refresh",
                               "client_id": "id.apps.googleusercontent.com",
                               "client_secret": "s"}).encode()
st, body, _ = c.request("POST", "/token", raw=form, auth=False, headers={
    "Content-Type": "application/x-www-form-urlencoded"})
fk.check(st == 200 and body["access_token"].startswith("ya29."),
         "refresh_token grant")
st, body, _ = c.request("POST", "/token", raw=b"grant_type=password",
                        auth=False)
fk.check(st == 400 and body["error"] == "unsupported_grant_type",
         "unknown grant type")

# Metadata server, as GCE_METADATA_HOST names it.
md = fk.Client("http://" + os.environ["GCE_METADATA_HOST"])
path = "/computeMetadata/v1/instance/service-accounts/default/token"
st, body, h = md.request("GET", path, auth=False)
fk.check(st == 403, "metadata without Metadata-Flavor: 403, got %s" % st)
st, body, h = md.request("GET", path, auth=False,
                         headers={"Metadata-Flavor": "Google"})
fk.check(st == 200 and body["access_token"].startswith("ya29.") and
         h.get("Metadata-Flavor") == "Google", "metadata token")
st, body, h = md.request("GET", "/computeMetadata/v1/project/project-id",
                         auth=False, headers={"Metadata-Flavor": "Google"})
fk.check(st == 200 and body == fk.PROJECT, "metadata project-id")

# STS token exchange.
form = urllib.parse.urlencode({
    "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
    "subject_token": "eyJhbGciOi.fake.oidc",
    "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
    "requested_token_type": "urn:ietf:params:oauth:token-type:access_token",
    "audience": "//iam.googleapis.com/projects/1/locations/global/"
                "workloadIdentityPools/p/providers/x",
    "scope": "https://www.googleapis.com/auth/cloud-platform"}).encode()
st, body, _ = c.request("POST", "/v1/token", raw=form, auth=False, headers={
    "Content-Type": "application/x-www-form-urlencoded"})
fk.check(st == 200 and body.get("issued_token_type") ==
         "urn:ietf:params:oauth:token-type:access_token", "STS exchange")

# IAM Credentials impersonation.
sa = "deployer@%s.iam.gserviceaccount.com" % fk.PROJECT
path = "/v1/projects/-/serviceAccounts/%s:generateAccessToken" % sa
st, body, _ = c.request("POST", path, {"scope": [
    "https://www.googleapis.com/auth/cloud-platform"], "lifetime": "600s"})
fk.check(st == 200 and body["accessToken"].startswith("ya29.") and
         body["expireTime"].endswith("Z"), "generateAccessToken")
st, body, _ = c.request("POST", path, {"scope": ["x"]}, auth=False)
fk.check(st == 401 and body["error"]["status"] == "UNAUTHENTICATED",
         "generateAccessToken needs a token")
st, body, _ = c.request("POST", path, {"scope": ["x"], "bogus": 1})
fk.check(st == 400 and body["error"]["status"] == "INVALID_ARGUMENT",
         "unknown field rejected")

fk.finish("test_tokens")
