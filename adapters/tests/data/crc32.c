/* CRC-32 (IEEE 802.3, reflected) of a generated buffer; prints `crc32 <checksum>`. */
#include <stdint.h>
#include <stdio.h>

static uint32_t table[256];

static void crc32_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
}

static uint32_t crc32(const uint8_t *data, size_t length) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < length; i++)
        c = table[(c ^ data[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

int main(void) {
    static uint8_t buffer[4096];
    uint32_t state = 12345;
    for (size_t i = 0; i < sizeof buffer; i++) {
        state = state * 1103515245u + 12345u;
        buffer[i] = (uint8_t)(state >> 16);
    }
    crc32_init();
    uint32_t sum = 0;
    for (size_t n = 1; n <= sizeof buffer; n *= 2)
        sum = sum * 31u + crc32(buffer, n);
    printf("crc32 %08x\n", sum);
    return 0;
}
