package org.redpacksim.junit;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

/**
 * The merchant API side: the v2 MD5 sign, request bodies, XML answers and the
 * TLS context with the merchant's certificate, as merchant SDKs do it (plain JDK).
 */
public final class Wire {
    /** The endpoints, in the order the Python helper lists them. */
    public static final List<String> ENDPOINTS = List.of("sendgroupredpack", "sendredpack", "gethbinfo");

    private static final String ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    private static final SecureRandom RANDOM = new SecureRandom();

    private Wire() {
    }

    /** The request path of an endpoint: {@code /mmpaymkttransfers/<endpoint>}. */
    public static String path(String endpoint) {
        if (!ENDPOINTS.contains(endpoint)) {
            throw new IllegalArgumentException("unknown endpoint " + endpoint + " (one of " + ENDPOINTS + ")");
        }
        return "/mmpaymkttransfers/" + endpoint;
    }

    /**
     * The string the v2 sign is over: the non-empty fields but {@code sign}, sorted by
     * name, as {@code k=v&...}, then {@code &key=KEY}.
     */
    public static String signString(Map<String, String> fields, String key) {
        StringBuilder b = new StringBuilder();
        for (Map.Entry<String, String> e : new TreeMap<>(fields).entrySet()) {
            if (e.getKey().equals("sign") || e.getValue() == null || e.getValue().isEmpty()) {
                continue;
            }
            b.append(e.getKey()).append('=').append(e.getValue()).append('&');
        }
        return b.append("key=").append(key).toString();
    }

    /** The v2 MD5 sign of the fields with the API key: upper-case hex. */
    public static String sign(Map<String, String> fields, String key) {
        try {
            byte[] d = MessageDigest.getInstance("MD5").digest(signString(fields, key).getBytes(StandardCharsets.UTF_8));
            StringBuilder hex = new StringBuilder();
            for (byte x : d) {
                hex.append(String.format("%02X", x & 0xff));
            }
            return hex.toString();
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String random(String alphabet, int n) {
        StringBuilder b = new StringBuilder(n);
        for (int k = 0; k < n; k++) {
            b.append(alphabet.charAt(RANDOM.nextInt(alphabet.length())));
        }
        return b.toString();
    }

    /** A 32-character nonce_str. */
    public static String nonce() {
        return random(ALNUM, 32);
    }

    /** A fresh mch_billno as the real service suggests: mch_id, the date (Beijing), 10 digits. */
    public static String newBillno(String mchId) {
        String day = ZonedDateTime.now(ZoneOffset.ofHours(8)).format(DateTimeFormatter.BASIC_ISO_DATE).substring(0, 8);
        String b = mchId + day + random("0123456789", 10);
        return b.length() > 28 ? b.substring(0, 28) : b;
    }

    /** A 28-character openid listed nowhere (accepted for any app of a merchant). */
    public static String newOpenid() {
        return "oTest" + random(ALNUM, 23);
    }

    /**
     * A valid request of the endpoint for a merchant of the fixtures, with the
     * overrides applied (a null value removes the field). The sends go to a fresh
     * openid unless re_openid is given; gethbinfo needs mch_billno.
     */
    public static Map<String, String> defaultFields(String endpoint, String mchId, String name, String appid,
                                                    Map<String, String> overrides) {
        Map<String, String> f = new LinkedHashMap<>();
        if (endpoint.equals("sendgroupredpack") || endpoint.equals("sendredpack")) {
            boolean group = endpoint.equals("sendgroupredpack");
            f.put("mch_billno", newBillno(mchId));
            f.put("mch_id", mchId);
            f.put("wxappid", appid);
            f.put("send_name", name.length() > 30 ? name.substring(0, 30) : name);
            f.put("re_openid", newOpenid());
            f.put("total_amount", group ? "300" : "100");
            f.put("total_num", group ? "3" : "1");
            if (group) {
                f.put("amt_type", "ALL_RAND");
            }
            f.put("wishing", "恭喜发财");
            if (!group) {
                f.put("client_ip", "127.0.0.1");
            }
            f.put("act_name", "测试红包");
            f.put("remark", "redpack-sim test");
        } else if (endpoint.equals("gethbinfo")) {
            f.put("mch_billno", null);
            f.put("mch_id", mchId);
            f.put("appid", appid);
            f.put("bill_type", "MCHT");
        } else {
            throw new IllegalArgumentException("unknown endpoint " + endpoint + " (one of " + ENDPOINTS + ")");
        }
        f.put("nonce_str", nonce());
        if (overrides != null) {
            f.putAll(overrides);
        }
        f.values().removeIf(v -> v == null);
        if (endpoint.equals("gethbinfo") && !f.containsKey("mch_billno")) {
            throw new IllegalArgumentException("gethbinfo needs mch_billno");
        }
        return f;
    }

    /**
     * The request body as wechatpay-php writes it: {@code <xml>}, the fields in order,
     * {@code sign} last, CDATA only where a value holds {@code < > & "}.
     */
    public static String buildXml(Map<String, String> fields) {
        StringBuilder b = new StringBuilder("<xml>");
        List<Map.Entry<String, String>> entries = new ArrayList<>();
        Map.Entry<String, String> sign = null;
        for (Map.Entry<String, String> e : fields.entrySet()) {
            if (e.getKey().equals("sign")) {
                sign = e;
            } else {
                entries.add(e);
            }
        }
        if (sign != null) {
            entries.add(sign);
        }
        for (Map.Entry<String, String> e : entries) {
            String v = e.getValue();
            boolean cdata = v.chars().anyMatch(c -> "<>&\"".indexOf(c) >= 0);
            b.append('<').append(e.getKey()).append('>')
                .append(cdata ? "<![CDATA[" + v.replace("]]>", "]]]]><![CDATA[>") + "]]>" : v)
                .append("</").append(e.getKey()).append('>');
        }
        return b.append("</xml>").toString();
    }

    /**
     * The answer's fields: each child of the root as its text, or, for an element
     * with children (gethbinfo's {@code hblist}), as a {@code List<Map<String,Object>>}
     * of its children's fields. A body that is not XML parses to an empty map.
     */
    public static Map<String, Object> parseXml(String body) {
        Map<String, Object> out = new LinkedHashMap<>();
        try {
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            f.setExpandEntityReferences(false);
            Document doc = f.newDocumentBuilder().parse(new ByteArrayInputStream(body.getBytes(StandardCharsets.UTF_8)));
            for (Node n = doc.getDocumentElement().getFirstChild(); n != null; n = n.getNextSibling()) {
                if (n instanceof Element) {
                    out.put(n.getNodeName(), element((Element) n));
                }
            }
        } catch (Exception e) {
            out.clear();
        }
        return out;
    }

    private static Object element(Element el) {
        List<Element> kids = new ArrayList<>();
        for (Node n = el.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element) {
                kids.add((Element) n);
            }
        }
        if (kids.isEmpty()) {
            return el.getTextContent();
        }
        if (el.getNodeName().endsWith("list")) {
            List<Object> l = new ArrayList<>();
            for (Element k : kids) {
                l.add(element(k));
            }
            return l;
        }
        Map<String, Object> m = new LinkedHashMap<>();
        for (Element k : kids) {
            m.put(k.getNodeName(), element(k));
        }
        return m;
    }

    /**
     * An SSLContext trusting the CA (PEM) and, when p12 is given, presenting the
     * merchant certificate of that PKCS12 file (its password: the mch_id).
     */
    public static SSLContext sslContext(Path ca, Path p12, String password) {
        try {
            KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
            trust.load(null, null);
            try (InputStream in = Files.newInputStream(ca)) {
                Collection<? extends Certificate> certs = CertificateFactory.getInstance("X.509").generateCertificates(in);
                int n = 0;
                for (Certificate c : certs) {
                    trust.setCertificateEntry("redpack-sim-ca-" + n++, c);
                }
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            KeyManagerFactory kmf = null;
            if (p12 != null) {
                KeyStore ks = KeyStore.getInstance("PKCS12");
                try (InputStream in = Files.newInputStream(p12)) {
                    ks.load(in, password.toCharArray());
                }
                kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(ks, password.toCharArray());
            }
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
            return ctx;
        } catch (Exception e) {
            throw new IllegalStateException("cannot make the TLS context (CA " + ca + ", certificate " + p12 + "): " + e, e);
        }
    }
}
