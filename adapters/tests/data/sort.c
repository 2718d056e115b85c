/* Insertion sort and binary search over pseudo-random keys; prints `sort <checksum>`. */
#include <stdint.h>
#include <stdio.h>

#define COUNT 512

static void insertion_sort(int32_t *keys, int count) {
    for (int i = 1; i < count; i++) {
        int32_t key = keys[i];
        int j = i - 1;
        while (j >= 0 && keys[j] > key) {
            keys[j + 1] = keys[j];
            j--;
        }
        keys[j + 1] = key;
    }
}

static int lower_bound(const int32_t *keys, int count, int32_t wanted) {
    int low = 0, high = count;
    while (low < high) {
        int middle = low + (high - low) / 2;
        if (keys[middle] < wanted)
            low = middle + 1;
        else
            high = middle;
    }
    return low;
}

int main(void) {
    int32_t keys[COUNT];
    uint32_t state = 2463534242u;
    for (int i = 0; i < COUNT; i++) {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        keys[i] = (int32_t)(state % 100000u) - 50000;
    }
    insertion_sort(keys, COUNT);
    uint32_t sum = 0;
    for (int i = 0; i < COUNT; i++)
        sum = (sum << 5) + sum + (uint32_t)keys[i];
    for (int32_t probe = -50000; probe < 50000; probe += 997)
        sum += (uint32_t)lower_bound(keys, COUNT, probe) * 2654435761u;
    printf("sort %08x\n", sum);
    return 0;
}
