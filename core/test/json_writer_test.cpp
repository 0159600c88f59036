#include <roost/detail/json_writer.hpp>

#include <roost/detail/json_reader.hpp>

#include <gtest/gtest.h>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/value.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace roost::detail {
namespace {

// Every expected string below was printed by Node 20's String(n) / JSON.stringify.

struct number_case {
  double value;
  char const* js;
};

TEST(write_js_number, matches_javascript_string_of_number) {
  double const inf = std::numeric_limits<double>::infinity();
  std::vector<number_case> const cases = {
      {0.0, "0"},
      {-0.0, "0"},
      {1.0, "1"},
      {-1.5, "-1.5"},
      {1.5, "1.5"},
      {100.0, "100"},
      {25.0, "25"},
      {0.5, "0.5"},
      {0.1, "0.1"},
      {0.1 + 0.2, "0.30000000000000004"},
      {1.0 / 3, "0.3333333333333333"},
      {2.0 / 3, "0.6666666666666666"},
      {4.35, "4.35"},
      {100.5, "100.5"},
      {123.456, "123.456"},
      {1234567.125, "1234567.125"},
      {-123456789.98765432, "-123456789.98765431"},
      {1.0000000000000002, "1.0000000000000002"},
      // Integers stay plain up to 21 digits.
      {9007199254740993.0, "9007199254740992"},
      {9007199254740992.0, "9007199254740992"},
      {1e16, "10000000000000000"},
      {12345678901234567890.0, "12345678901234567000"},
      {1e20, "100000000000000000000"},
      {123456789012345680000.0, "123456789012345680000"},
      {999999999999999900000.0, "999999999999999900000"},
      {1e21, "1e+21"},
      {1e22, "1e+22"},
      {1e100, "1e+100"},
      {1.5e300, "1.5e+300"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {1.7976931348623158e307, "1.7976931348623158e+307"},
      // Small numbers stay plain down to 1e-6.
      {0.00001, "0.00001"},
      {1e-6, "0.000001"},
      {1.5e-6, "0.0000015"},
      {0.000001234, "0.000001234"},
      {1e-7, "1e-7"},
      {-1e-7, "-1e-7"},
      {1.2e-7, "1.2e-7"},
      {1.2345e-7, "1.2345e-7"},
      {5e-7, "5e-7"},
      {123e-20, "1.23e-18"},
      {2.2250738585072014e-308, "2.2250738585072014e-308"},
      {1e-323, "1e-323"},
      {1.5e-323, "1.5e-323"},
      {5e-324, "5e-324"},
      {std::numeric_limits<double>::denorm_min(), "5e-324"},
      {std::numeric_limits<double>::max(), "1.7976931348623157e+308"},
      {inf, "Infinity"},
      {-inf, "-Infinity"},
      {std::numeric_limits<double>::quiet_NaN(), "NaN"},
  };
  for (auto const& c : cases) {
    std::string out = "x";
    write_js_number(c.value, out);
    EXPECT_EQ(out, std::string("x") + c.js) << c.js;
  }
}

TEST(write_js_number, matches_javascript_for_random_doubles) {
  // Generated with a seeded PRNG in Node: half random bit patterns, half human-scale values
  // around the plain/exponent switches; printed with String(d).
  struct bits_case {
    std::uint64_t bits;
    char const* js;
  };
  std::vector<bits_case> const cases = {
      {0x99e1ef7c72c32b8au, "-5.276257336481578e-184"},
      {0x44226e72a69a50d0u, "170000000000000000000"},
      {0x86cec4d345f24514u, "-6.9429690947469025e-276"},
      {0x414be22d3dd59180u, "3654746.483080089"},
      {0x78e9c5413ffb0079u, "2.7882349399524176e+274"},
      {0x4460f0cf064dd592u, "2.5e+21"},
      {0x327f3a3f802fcec6u, "1.8532696272599541e-65"},
      {0x42049ad0c395f410u, "11062089842.744171"},
      {0x00fbda0978852a06u, "6.3459435713207854e-304"},
      {0xc40376ae51b97c40u, "-44880000000000000000"},
      {0x0812df1844573a41u, "8.93037071280813e-270"},
      {0xba38e6fbfb0f31c5u, "-3.143109928350896e-28"},
      {0xc8968e2f87c41305u, "-4.912133913135589e+41"},
      {0xb9d094a3456da3ceu, "-3.26995e-30"},
      {0x7cdc85f2cf1c2159u, "2.8463912304789086e+293"},
      {0xbd61a0fdd6cfeee2u, "-5.010427138768137e-13"},
      {0x09959dc60d281302u, "1.7161893971196965e-262"},
      {0x4058400000000000u, "97"},
      {0xa54c3a7f35a27ab9u, "-5.090491597852996e-129"},
      {0x3d50ca9ed92b281fu, "2.3862137272953986e-13"},
      {0xdbd47a93820c0b79u, "-2.3257491451973547e+134"},
      {0xbc103baeb8a48d78u, "-2.2e-19"},
      {0x131f2ff0a8ec9249u, "1.4135801370524023e-216"},
      {0x41dcc5ba23798ebau, "1930881165.8993363"},
      {0xed86ea6c16851291u, "-4.044643123308914e+219"},
      {0xc516c8e1712a8f4fu, "-6.88625e+24"},
      {0x2325fd0b1c66c574u, "2.308057628147693e-139"},
      {0xb986a4dc027aea4fu, "-1.3955431408248844e-31"},
      {0x7b522abb9ca6ebe4u, "1.0805809997267013e+286"},
      {0xc4a1e3e306709586u, "-4.2242e+22"},
      {0xef537ddf473b7d0bu, "-1.8469969841856656e+228"},
      {0xc252a5fe5669e949u, "-320377280935.6451"},
      {0x853373dcd2677f8eu, "-1.3081618718498488e-283"},
      {0x3b17f73b17fb982cu, "4.956e-24"},
      {0xea86d9e36f19fe2du, "-1.4328960360337122e+205"},
      {0xc099798447434000u, "-1630.379178095609"},
      {0x98a3203b52ad5cb0u, "-5.365803240695825e-190"},
      {0xc27dd4d859400000u, "-2050000000000"},
      {0xd7d71721b1efcb16u, "-1.4215725388920613e+115"},
      {0x45df851bb3d7236au, "3.901981303934008e+28"},
      {0x6e90707b8b93167eu, "3.80314035299616e+224"},
      {0xbd2677ece620eb0cu, "-3.9912e-14"},
      {0x5034cbc9c9338874u, "2.4080178179090906e+78"},
      {0xc4d5832fca3c7350u, "-4.0635865298099816e+23"},
      {0x79b346e4d26b5e3du, "1.7085742613524447e+278"},
      {0x3b16ba51748c746bu, "4.7e-24"},
      {0xb59d2e86b31ef6e5u, "-1.9498983119906184e-50"},
      {0xbc3012fab7a3471au, "-8.71380774769932e-19"},
      {0x29d709aba798376cu, "3.9237569139813357e-107"},
      {0xbdc01b9bc0ae0a51u, "-2.93e-11"},
      {0xe30a7e4e538d8199u, "-1.2498128835836543e+169"},
      {0xc3430443105e8f39u, "-10705421282909810"},
      {0x21a2f56ddd1b9631u, "1.1861533770834762e-146"},
      {0xbe3510c6517a52c0u, "-4.9047e-9"},
      {0xa2a0a64ee03c8357u, "-6.8267960093137e-142"},
      {0xc4cecfdff90ee1c6u, "-2.910112189128995e+23"},
      {0x9a9b52d47d3efe2eu, "-1.6461894391624678e-180"},
      {0xbbeab670a4c84192u, "-4.5253e-20"},
      {0xb557bbe14a9f3a32u, "-9.911741800987708e-52"},
      {0xbcdd6f802c42c99du, "-1.6340012405999004e-15"},
      {0x07738b05388c9a40u, "9.031424277807435e-273"},
      {0x45b760cad79d7705u, "7.23517e+27"},
      {0x29f322002bbbc803u, "1.303468133611506e-106"},
      {0xc069efe1a0a60000u, "-207.4962924234569"},
      {0x650832896f358cc4u, "4.902711317868276e+178"},
      {0x3ebf34a3a0ae8bc4u, "0.00000186"},
      {0x560c0343e548c139u, "3.212360713064096e+106"},
      {0xbd2aab632bda8a8bu, "-4.7374516725540156e-14"},
      {0x9c61f71d8bde628bu, "-5.810945839154372e-172"},
      {0xc0d9640000000000u, "-26000"},
      {0x4c7cdc7a52109729u, "2.8986391820362154e+60"},
      {0xc1e4cb938d0a1a76u, "-2791087208.31573"},
      {0x2b578bbdb1ea9d88u, "6.728156207410924e-100"},
      {0xbd5abd78afdf63c8u, "-3.8e-13"},
      {0x0adbb77993d9638du, "2.3074123165491304e-256"},
      {0xbbd5ccf9f1b5c70au, "-1.8465901724994184e-20"},
      {0x614318f9b648e613u, "3.3561827145122683e+160"},
      {0x44d0846372f249d5u, "3.12e+23"},
      {0x2775e197de1d05d4u, "1.3557927915077182e-118"},
      {0x400b3ae334100000u, "3.4037536685355008"},
      {0xe4fe58a17339efd0u, "-3.07426966582106e+178"},
      {0x3b2cb5a667447c2fu, "1.1874e-23"},
      {0x355a55d363bfaf07u, "1.099811640721985e-51"},
      {0x4048397c3e940000u, "48.44910413958132"},
      {0x7df3ab59dc070621u, "5.14547534110919e+298"},
      {0x43f158e460913d00u, "20000000000000000000"},
      {0x11c049582b575558u, "3.5199867453553826e-223"},
      {0x3fc69cb13a800000u, "0.1766568694729358"},
      {0xc2c3bf08fdd019bdu, "-43422421065779.48"},
      {0x437d3963c5577e00u, "131614000000000000"},
      {0xda5bd4cd99719246u, "-1.883957452263783e+127"},
      {0xbdcd3036daeeb4bbu, "-5.3093275753781204e-11"},
      {0xe0dd85cdae55493cu, "-4.0533430765620334e+158"},
      {0x3dc80d43de9cc603u, "4.375e-11"},
      {0x544f0f38d83c4892u, "1.3268521263627011e+98"},
      {0xbb64498b65ed5beeu, "-1.3424997939728203e-22"},
      {0x051cc29015e37c65u, "4.835185616639867e-284"},
      {0x4175967700000000u, "22636400"},
      {0xe124997b775c023cu, "-9.050347221334617e+159"},
      {0xc254a7a3c7c55063u, "-354847498005.25604"},
      {0x45e9f36f239e96cfu, "6.425135247554537e+28"},
      {0xb9fa7e7011ca5ca0u, "-2.09e-29"},
      {0x919a8307b76417b7u, "-7.162473815874122e-224"},
      {0x43594b65c837f372u, "28479099762625990"},
      {0x322825dcaa965d77u, "4.478476654558071e-67"},
      {0xbfe2147ae147ae14u, "-0.565"},
      {0x7584f6626cd04f73u, "1.259006929371058e+258"},
      {0xbd80ec91adcec51eu, "-1.924047169741243e-12"},
      {0x25cc17f8812d48a9u, "1.296939685302727e-126"},
      {0x3cb605533279672eu, "3.056e-16"},
      {0xa5ba55726feba37eu, "-6.078480096786634e-127"},
      {0xbb4dfedf0d0576f8u, "-4.962354265153408e-23"},
      {0x25eef325f178311au, "5.7151764110831116e-126"},
      {0x3a725efbd585cae8u, "3.71e-27"},
      {0x80a19cd4194a6279u, "-1.2540595565128878e-305"},
      {0xc3cec1f82866ecbcu, "-4432650688104331300"},
      {0x5ee067fd3ace414fu, "1.0489048103593866e+149"},
      {0x422bf08eb0000000u, "60000000000"},
      {0xf7658331c0071f7bu, "-1.3873198746687826e+267"},
      {0x41b1aa73c3b0589au, "296383427.68885195"},
      {0x8c7eb26fce0a51f6u, "-1.7149828691170242e-248"},
      {0xc008000000000000u, "-3"},
      {0x188b55e60f404104u, "1.9172574660979264e-190"},
      {0x3ca8cedcf44f5d40u, "1.7214048933237793e-16"},
      {0xab19f6788f9dc961u, "-4.636738575779755e-101"},
      {0xc5aee3d8be72b4cau, "-4.78e+27"},
      {0x567c7f5f48bcce87u, "4.182981513043229e+108"},
      {0x43945b977b6adaf2u, "366733164992183400"},
      {0x3478a75cf1bd7a09u, "6.2841134030873965e-56"},
      {0xc56829fccc55f5abu, "-2.337e+26"},
      {0xdc29fe9bef72e105u, "-9.446928916495986e+135"},
      {0x41f9881cc3c929aeu, "6853610556.572676"},
      {0xcf56c09b4fdda772u, "-1.6079983170518358e+74"},
      {0x3f99a176ddaceee1u, "0.02503"},
      {0xaff1637f8de5bd1au, "-9.385715157923019e-78"},
      {0x4047593ca15c0000u, "46.697162790223956"},
      {0xfbfc1277c43d6330u, "-1.709823870005363e+289"},
      {0x3d428396976926f9u, "1.3155e-13"},
      {0xdd5bfd3c63087dfeu, "-5.332962212607114e+141"},
      {0xc458ce8676637f17u, "-1.8304142798297107e+21"},
      {0xe13f5d0069ca6dfcu, "-2.7558735747305006e+160"},
      {0x3d8ce78c9ea596c9u, "3.28606e-12"},
      {0x9e2c368ede23e20cu, "-2.4496466307854975e-163"},
      {0xc220421287643b68u, "-34913993650.11603"},
      {0x4967cc30f6212a3fu, "4.245637652897482e+45"},
      {0xbf970f7b9e060fe4u, "-0.02252"},
      {0xc56e0622bd0133b0u, "-2.9037399676686543e+26"},
      {0xc252489b682a59f4u, "-314110222505.4055"},
      {0xd8c36886e70e16e0u, "-3.9153986037561965e+119"},
      {0xc008000000000000u, "-3"},
      {0xacdd6a686bceca2au, "-1.4101973033313649e-92"},
      {0x3ee84c55d07c84b5u, "0.000011586277210153638"},
      {0xb79f2ff88492dc6eu, "-8.950340786638617e-41"},
      {0xba0303c73efd0676u, "-3e-29"},
      {0x1f03cea66017558bu, "2.8177078597754225e-159"},
      {0x43c77185c4107e94u, "3378556824754923500"},
      {0xaef004d915b224fbu, "-1.3193344487684535e-82"},
      {0xb9c74c21bcc38433u, "-2.2973e-30"},
      {0x45094217db27316cu, "3.8169077181242224e+24"},
      {0x414f333c3d2639c0u, "4089464.4777290523"},
      {0xe35d311458572136u, "-4.406737676356527e+170"},
      {0x3a9017dd4ca4d0cdu, "1.3e-26"},
      {0x7aed2843475b01a0u, "1.3549176030452094e+284"},
      {0x3cafc5531ac4e197u, "2.2045420575886967e-16"},
      {0x84e067e37cf46329u, "-3.447719484867057e-285"},
      {0xc0e3168000000000u, "-39092"},
      {0xb06845fceb2a57e2u, "-1.6770327328351912e-75"},
      {0xbae11180562017b4u, "-4.412068815436214e-25"},
      {0x087cf795572c48beu, "8.773022107411186e-268"},
      {0xbc7f2316c80befd0u, "-2.70071e-17"},
      {0x94c97adfd70a8c36u, "-1.5500726827937723e-208"},
      {0x3db065fce8ef2356u, "1.491424913983792e-11"},
      {0x08367f17bc15fbe5u, "4.258317015809338e-269"},
      {0xc34550f7dca70000u, "-12000000000000000"},
      {0xc915806b814c9be3u, "-1.1987565096246418e+44"},
      {0xbb493ca0fa05894bu, "-4.175083516165614e-23"},
      {0xc5c61f886e7f215bu, "-1.3693582393243733e+28"},
      {0x4463c9647e25a994u, "2.92e+21"},
      {0xf39afc532ce82557u, "-7.547258497715388e+248"},
      {0x3b1933f6400f2902u, "5.211853329092264e-24"},
      {0xacb3d01b34e136a9u, "-2.374596001910664e-93"},
      {0xc32550f7dca70000u, "-3000000000000000"},
      {0xa8ee59c79a50506au, "-1.5775399170617037e-111"},
      {0xc0726ab291f80000u, "-294.6685962378979"},
      {0xec0a6605859204dfu, "-2.7771962406635797e+212"},
      {0xc2c4787285c38000u, "-45015100000000"},
      {0x9492b1dd48b0a3e4u, "-1.421619754694284e-209"},
      {0xb9f605cd5c4e4c85u, "-1.7372819292359052e-29"},
      {0xb642750dc2d0ff18u, "-2.5257913853490566e-47"},
      {0x3cba282b088525f4u, "3.63e-16"},
      {0x2ec1f68aa48531aeu, "1.8493169979659925e-83"},
      {0xbfd3f18c08400000u, "-0.31161785894073546"},
      {0xda3d644f1663c8e9u, "-4.97398933276202e+126"},
      {0x3b4d9e61fb4a1a70u, "4.9e-23"},
      {0x78b9e070823a3f69u, "3.4996551528816947e+273"},
      {0xc102e0e2d87b9400u, "-154652.35570445657"},
      {0xac9cb9dd288a3219u, "-8.607102683874812e-94"},
      {0x45a542d932bf6b4cu, "3.29e+27"},
      {0x3472b64a84a29ea9u, "4.769608738524332e-56"},
      {0xc2c89287d52abf73u, "-54035246372222.9"},
  };
  for (auto const& c : cases) {
    std::string out;
    write_js_number(std::bit_cast<double>(c.bits), out);
    EXPECT_EQ(out, c.js) << std::hex << c.bits;
  }
}

struct stringify_case {
  json::value value;
  std::string js;
};

TEST(write_json, matches_json_stringify) {
  double const inf = std::numeric_limits<double>::infinity();
  std::vector<stringify_case> const cases = {
      {nullptr, "null"},
      {true, "true"},
      {false, "false"},
      {std::int64_t{0}, "0"},
      {std::int64_t{-5}, "-5"},
      {std::numeric_limits<std::int64_t>::max(), "9223372036854775807"},
      {std::numeric_limits<std::int64_t>::min(), "-9223372036854775808"},
      {std::numeric_limits<std::uint64_t>::max(), "18446744073709551615"},
      {1.5, "1.5"},
      {-0.0, "0"},
      {1e21, "1e+21"},
      {1e-7, "1e-7"},
      {0.1, "0.1"},
      {1.0 / 3, "0.3333333333333333"},
      {123456789012345680000.0, "123456789012345680000"},
      {5e-324, "5e-324"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {inf, "null"},
      {-inf, "null"},
      {std::numeric_limits<double>::quiet_NaN(), "null"},
      // Strings.
      {"", R"("")"},
      {"plain", R"("plain")"},
      {"a/b", R"("a/b")"},
      {"say \"hi\" \\ bye", R"("say \"hi\" \\ bye")"},
      {"\b\f\n\r\t", R"("\b\f\n\r\t")"},
      {json::string(std::string_view("\x00\x01\x1f\x1b", 4)), R"("\u0000\u0001\u001f\u001b")"},
      {"\x7f", "\"\x7f\""},
      {"é日本😀", "\"é日本😀\""},
      {"\u2028\u2029", "\"\u2028\u2029\""},
      {"\xc3\xa9\x0a\xe6\x97\xa5", "\"\xc3\xa9\\n\xe6\x97\xa5\""},
      // Containers: compact, keys in stored order.
      {json::array{}, "[]"},
      {json::object{}, "{}"},
      {json::array{1, "two", nullptr, json::array{}, json::object{}}, R"([1,"two",null,[],{}])"},
      {json::object{{"b", 1}, {"a", 2}}, R"({"b":1,"a":2})"},
      {json::object{{"a\"k", json::array{1, json::object{{"b", nullptr}}}},
                    {"c", json::object{}},
                    {"d", json::array{}},
                    {"e", -0.0},
                    {"f", std::numeric_limits<double>::quiet_NaN()},
                    {"g", inf},
                    {"h", 1e21}},
       R"({"a\"k":[1,{"b":null}],"c":{},"d":[],"e":0,"f":null,"g":null,"h":1e+21})"},
      {json::object{{"\n", "\x01"}}, R"({"\n":"\u0001"})"},
      {json::object{{"x", json::array{2, 3}}, {"y", json::object{{"z", nullptr}}}},
       R"({"x":[2,3],"y":{"z":null}})"},
  };
  for (auto const& c : cases) {
    EXPECT_EQ(to_json(c.value), c.js) << c.js;
    std::string appended = "prefix:";
    write_json(c.value, appended);
    EXPECT_EQ(appended, "prefix:" + c.js);
  }
}

TEST(write_json, round_trips_nested_documents) {
  // Built from text: brace-initialising a json::array from one json::array copies it with some
  // compilers instead of nesting it.
  for (char const* text :
       {R"([[[1]],{"x":[2,3]},[[],[{}]]])", R"({"a":{"b":{"c":[1,[2,[3]]]}}})",
        "[{\"k\":\"v\",\"k2\":[true,false,null]},-1.5e-7,1e+21,\"\\u001f\\n\"]"}) {
    json::error_code ec;
    json::value const v = parse_json(text, ec);
    ASSERT_FALSE(ec) << text;
    EXPECT_EQ(to_json(v), text);
  }
}

TEST(write_json, escapes_every_control_character) {
  std::string all;
  for (int c = 0; c < 0x20; ++c) all.push_back(static_cast<char>(c));
  // JSON.stringify(String.fromCharCode(...Array(32).keys()))
  EXPECT_EQ(to_json(json::string(all)),
            R"("\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000b\f\r\u000e\u000f)"
            R"(\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c)"
            R"(\u001d\u001e\u001f")");
}

TEST(write_json, long_strings_and_deep_nesting) {
  std::string const big(100000, 'x');
  EXPECT_EQ(to_json(json::string(big)), '"' + big + '"');

  // Far deeper than the call stack would allow a recursive writer; the monotonic arena also
  // lets the value be freed without recursion.
  json::monotonic_resource arena;
  json::storage_ptr const sp(&arena);
  constexpr int depth = 200000;
  json::value v(1, sp);
  for (int i = 0; i < depth; ++i) {
    json::array a(sp);
    a.push_back(std::move(v));
    v = std::move(a);
  }
  EXPECT_EQ(to_json(v), std::string(depth, '[') + "1" + std::string(depth, ']'));
}

}  // namespace
}  // namespace roost::detail
